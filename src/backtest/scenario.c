/* scenario.c: the scenario catalogue (built-ins and a JSON config), history windows sliced from
 * cached files, synthetic shocks laid on a seeded base path, and an in-memory bar source.
 *
 * Invariants: every bar handed out satisfies the loader's row checks (low >= 1 tick,
 * low <= min(open, close) <= max(open, close) <= high, volume >= 0, time strictly increasing);
 * a history window is never partially served: either the file covers it or the answer is
 * ND_ENOTFOUND with the fetch command. Shock arithmetic uses only IEEE basic operations. */
#include "noderr/scenario.h"
#include "noderr/json_cfg.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/file.h"
#include "noderr/rand.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A history file may miss a few bars at a window's edges (exchange outages) and still cover
 * it; a day of slack at each end, no more, so a half-downloaded file does not pass. */
#define COVER_SLACK_NS ND_NS_PER_DAY
/* Panic volume in the bars of a crash or a gap, as a multiple of normal. */
#define CRASH_VOLUME_MULT 5.0
#define SCENARIOS_MAX 256

const char *nd_shock_kind_name(nd_shock_kind_t shock)
{
    switch (shock) {
    case ND_SHOCK_NONE: return "none";
    case ND_SHOCK_FLASH_CRASH: return "flash-crash";
    case ND_SHOCK_LIQUIDITY_CRISIS: return "liquidity-crisis";
    case ND_SHOCK_GAP_DOWN: return "gap-down";
    }
    return "unknown";
}

const char *nd_scenario_kind_name(nd_scenario_kind_t kind)
{
    return kind == ND_SCENARIO_HISTORY ? "history" : "synthetic";
}

nd_err_t nd_scenario_interval_ns(const char *interval, int64_t *out_ns)
{
    ND_ASSERT(interval != NULL && out_ns != NULL);
    int64_t n = 0;
    const char *p = interval;
    while (*p >= '0' && *p <= '9' && n < 1000)
        n = n * 10 + (*p++ - '0');
    int64_t unit = 0;
    if (p[0] != '\0' && p[1] == '\0') {
        switch (p[0]) {
        case 'm': unit = ND_NS_PER_MIN; break;
        case 'h': unit = ND_NS_PER_HOUR; break;
        case 'd': unit = ND_NS_PER_DAY; break;
        case 'w': unit = 7 * ND_NS_PER_DAY; break;
        default: break;
        }
    }
    if (p == interval || n <= 0 || n >= 1000 || unit == 0)
        return ND_EPARSE;
    *out_ns = n * unit;
    return ND_OK;
}

/* ---- built-ins ---------------------------------------------------------------------------- */

static void synth_defaults(nd_scenario_synth_t *s, nd_shock_kind_t shock, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->shock = shock;
    s->seed = seed;
    strcpy(s->base, "synthetic");
    s->bars = 2160; /* 90 days of hours: room for warm-up, the shock and its aftermath */
    s->start_price = 40000.0;
    s->annual_vol = 0.6;
    s->at_fraction = -1.0;
    s->drop_pct = 30.0;
    s->drop_minutes = 30;
    s->recovery_pct = 50.0;
    s->recovery_bars = 24;
    s->spread_mult = 4.0;
    s->volume_mult = 0.0002;
    s->drift_pct = 15.0;
    s->duration_bars = 168; /* a week: long enough for a strategy to trade inside it */
    s->gap_pct = 15.0;
}

static void add_history(nd_scenario_t *sc, const char *name, const char *condition,
                        const char *from, const char *to_exclusive, const char *description)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->name, sizeof sc->name, "%s", name);
    sc->kind = ND_SCENARIO_HISTORY;
    snprintf(sc->description, sizeof sc->description, "%s", description);
    strcpy(sc->symbol, "BTCUSDT");
    strcpy(sc->interval, "1h");
    nd_err_t rc = nd_time_parse_iso(from, &sc->from_ns);
    ND_ASSERT(rc == ND_OK);
    rc = nd_time_parse_iso(to_exclusive, &sc->to_ns);
    ND_ASSERT(rc == ND_OK);
    snprintf(sc->condition, sizeof sc->condition, "%s", condition);
    sc->builtin = true;
    synth_defaults(&sc->synth, ND_SHOCK_NONE, 0);
}

static void add_synthetic(nd_scenario_t *sc, nd_shock_kind_t shock, uint64_t seed,
                          const char *condition, const char *description)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->name, sizeof sc->name, "%s", nd_shock_kind_name(shock));
    sc->kind = ND_SCENARIO_SYNTHETIC;
    snprintf(sc->description, sizeof sc->description, "%s", description);
    strcpy(sc->symbol, "BTCUSDT");
    strcpy(sc->interval, "1h");
    snprintf(sc->condition, sizeof sc->condition, "%s", condition);
    sc->builtin = true;
    synth_defaults(&sc->synth, shock, seed);
    if (shock == ND_SHOCK_LIQUIDITY_CRISIS) {
        sc->venue.set = true;
        sc->venue.slippage_bps_e2 = 5 * ND_BPS_UNIT;
        sc->venue.impact_bps_e2 = 100 * ND_BPS_UNIT;
        sc->venue.max_volume_share_e4 = 1000;
    }
}

static size_t builtin_catalogue(nd_scenario_t *out)
{
    add_history(&out[0], "covid-crash-2020", "crash", "2020-02-15", "2020-05-01",
                "COVID crash: BTC halves in two days in March 2020, then recovers");
    add_history(&out[1], "bull-2021", "bull", "2021-01-01", "2021-12-01",
                "2021 bull market: two legs to the November all-time high");
    add_history(&out[2], "bear-2022", "bear", "2022-01-01", "2023-01-01",
                "2022 bear market through Terra (May) and FTX (November)");
    add_history(&out[3], "high-vol-2023", "volatile", "2023-01-01", "2024-01-01",
                "2023: banking-crisis swings and the autumn rally");
    add_synthetic(&out[4], ND_SHOCK_FLASH_CRASH, 1, "crash",
                  "synthetic: a 30% fall within 30 minutes, half of it recovered over 24 bars");
    add_synthetic(&out[5], ND_SHOCK_LIQUIDITY_CRISIS, 2, "illiquid",
                  "synthetic: a week (168 bars) of 4x ranges, 15% adverse drift, volume at 0.02%; "
                  "impact 100 bps, slippage 5 bps, 10% volume cap");
    add_synthetic(&out[6], ND_SHOCK_GAP_DOWN, 3, "crash",
                  "synthetic: the open gaps 15% below the previous low, through resting stops");
    return 7;
}

/* ---- config file -------------------------------------------------------------------------- */

static const char *const scenario_keys[] = {
    "name", "kind", "description", "symbol", "interval", "from", "to", "condition", "criteria",
    "shock", "seed", "base", "bars", "start_price", "annual_vol", "at_fraction", "drop_pct",
    "drop_minutes", "recovery_pct", "recovery_bars", "spread_mult", "volume_mult", "drift_pct",
    "duration_bars", "gap_pct", "slippage_bps", "impact_bps", "max_volume_pct", NULL,
};

static nd_err_t parse_kind(nd_jcfg_t *c, json_t *obj, nd_scenario_t *sc, bool known)
{
    char kind[16] = "";
    nd_err_t rc = nd_jcfg_str(c, obj, "kind", kind, sizeof kind);
    if (rc != ND_OK)
        return rc;
    if (kind[0] == '\0' && !known)
        return nd_jcfg_bad(c, "kind", "missing (history or synthetic)");
    if (strcmp(kind, "history") == 0)
        sc->kind = ND_SCENARIO_HISTORY;
    else if (strcmp(kind, "synthetic") == 0)
        sc->kind = ND_SCENARIO_SYNTHETIC;
    else if (kind[0] != '\0')
        return nd_jcfg_bad(c, "kind", "must be history or synthetic");
    char shock[24] = "";
    rc = nd_jcfg_str(c, obj, "shock", shock, sizeof shock);
    if (rc != ND_OK || shock[0] == '\0')
        return rc;
    for (int k = ND_SHOCK_NONE; k <= ND_SHOCK_GAP_DOWN; k++)
        if (strcmp(shock, nd_shock_kind_name((nd_shock_kind_t)k)) == 0) {
            sc->synth.shock = (nd_shock_kind_t)k;
            return ND_OK;
        }
    return nd_jcfg_bad(c, "shock", "must be none, flash-crash, liquidity-crisis or gap-down");
}

static nd_err_t parse_synth(nd_jcfg_t *c, json_t *obj, nd_scenario_synth_t *s)
{
    int64_t seed = (int64_t)s->seed;
    nd_err_t rc = nd_jcfg_int(c, obj, "seed", 0, INT64_MAX, &seed);
    s->seed = (uint64_t)seed;
    if (rc == ND_OK) rc = nd_jcfg_str(c, obj, "base", s->base, sizeof s->base);
    if (rc == ND_OK) rc = nd_jcfg_int(c, obj, "bars", 10, 10000000, &s->bars);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "start_price", 1e-6, 1e9, &s->start_price);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "annual_vol", 0.0, 10.0, &s->annual_vol);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "at_fraction", -1.0, 0.99, &s->at_fraction);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "drop_pct", 0.01, 99.0, &s->drop_pct);
    if (rc == ND_OK) rc = nd_jcfg_int(c, obj, "drop_minutes", 1, 525600, &s->drop_minutes);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "recovery_pct", 0.0, 100.0, &s->recovery_pct);
    if (rc == ND_OK) rc = nd_jcfg_int(c, obj, "recovery_bars", 1, 100000, &s->recovery_bars);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "spread_mult", 1.0, 100.0, &s->spread_mult);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "volume_mult", 1e-9, 1.0, &s->volume_mult);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "drift_pct", 0.0, 99.0, &s->drift_pct);
    if (rc == ND_OK) rc = nd_jcfg_int(c, obj, "duration_bars", 1, 100000, &s->duration_bars);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "gap_pct", 0.01, 99.0, &s->gap_pct);
    return rc;
}

static nd_err_t parse_venue(nd_jcfg_t *c, json_t *obj, nd_scenario_venue_t *v)
{
    if (!json_object_get(obj, "slippage_bps") && !json_object_get(obj, "impact_bps") &&
        !json_object_get(obj, "max_volume_pct"))
        return ND_OK;
    if (!v->set) {
        nd_sim_config_t d;
        nd_sim_config_default(&d);
        v->slippage_bps_e2 = d.slippage_bps_e2;
        v->impact_bps_e2 = d.impact_bps_e2;
        v->max_volume_share_e4 = d.max_volume_share_e4;
    }
    v->set = true;
    double slip = (double)v->slippage_bps_e2 / 100.0, impact = (double)v->impact_bps_e2 / 100.0;
    double cap = (double)v->max_volume_share_e4 / 100.0;
    nd_err_t rc = nd_jcfg_real(c, obj, "slippage_bps", 0.0, 10000.0, &slip);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "impact_bps", 0.0, 10000.0, &impact);
    if (rc == ND_OK) rc = nd_jcfg_real(c, obj, "max_volume_pct", 0.01, 100.0, &cap);
    /* Hundredths of a basis point and of a percent: the scales the venue config uses. */
    v->slippage_bps_e2 = (int64_t)(slip * 100.0 + 0.5);
    v->impact_bps_e2 = (int64_t)(impact * 100.0 + 0.5);
    v->max_volume_share_e4 = (int64_t)(cap * 100.0 + 0.5);
    return rc;
}

static nd_err_t parse_fields(nd_jcfg_t *c, json_t *obj, nd_scenario_t *sc)
{
    nd_err_t rc = nd_jcfg_str(c, obj, "description", sc->description, sizeof sc->description);
    if (rc == ND_OK) rc = nd_jcfg_str(c, obj, "symbol", sc->symbol, sizeof sc->symbol);
    if (rc == ND_OK) rc = nd_jcfg_str(c, obj, "interval", sc->interval, sizeof sc->interval);
    if (rc == ND_OK) rc = nd_jcfg_time(c, obj, "from", &sc->from_ns);
    if (rc == ND_OK) rc = nd_jcfg_time(c, obj, "to", &sc->to_ns);
    if (rc == ND_OK) rc = nd_jcfg_str(c, obj, "condition", sc->condition, sizeof sc->condition);
    if (rc == ND_OK) rc = parse_synth(c, obj, &sc->synth);
    if (rc == ND_OK) rc = parse_venue(c, obj, &sc->venue);
    if (rc != ND_OK)
        return rc;
    int64_t interval_ns = 0;
    if (nd_scenario_interval_ns(sc->interval, &interval_ns) != ND_OK)
        return nd_jcfg_bad(c, "interval", "not an interval such as 1m, 15m, 1h, 4h, 1d or 1w");
    if (!nd_jcfg_name_ok(sc->symbol))
        return nd_jcfg_bad(c, "symbol", "must be a file-name symbol such as BTCUSDT");
    json_t *criteria = json_object_get(obj, "criteria");
    if (criteria && !json_is_object(criteria))
        return nd_jcfg_bad(c, "criteria", "must be an object");
    if (sc->kind == ND_SCENARIO_HISTORY && sc->to_ns <= sc->from_ns)
        return nd_jcfg_bad(c, sc->from_ns ? "to" : "from",
                   sc->from_ns ? "must be after from" : "missing (a history window needs "
                                                        "from and to)");
    return ND_OK;
}

static nd_err_t parse_scenario(nd_jcfg_t *c, json_t *obj, nd_scenario_t *list, size_t *count)
{
    if (!json_is_object(obj))
        return nd_jcfg_bad(c, NULL, "must be an object");
    nd_err_t rc = nd_jcfg_keys(c, obj, scenario_keys);
    char name[64] = "";
    if (rc == ND_OK)
        rc = nd_jcfg_str(c, obj, "name", name, sizeof name);
    if (rc != ND_OK)
        return rc;
    if (!nd_jcfg_name_ok(name))
        return nd_jcfg_bad(c, "name", "missing, or not made of letters, digits, '-', '_' and '.'");
    size_t at = 0;
    while (at < *count && strcmp(list[at].name, name) != 0)
        at++;
    bool known = at < *count;
    if (!known && *count >= SCENARIOS_MAX)
        return nd_jcfg_bad(c, NULL, "too many scenarios");
    nd_scenario_t sc;
    if (known) {
        sc = list[at];
    } else {
        memset(&sc, 0, sizeof sc);
        snprintf(sc.name, sizeof sc.name, "%s", name);
        strcpy(sc.symbol, "BTCUSDT");
        strcpy(sc.interval, "1h");
        strcpy(sc.condition, "custom");
        synth_defaults(&sc.synth, ND_SHOCK_NONE, 0);
    }
    sc.builtin = false;
    rc = parse_kind(c, obj, &sc, known);
    if (rc == ND_OK)
        rc = parse_fields(c, obj, &sc);
    if (rc != ND_OK)
        return rc;
    list[at] = sc;
    if (!known)
        (*count)++;
    return ND_OK;
}

/* Every synthetic base must name "synthetic" or a history scenario of the final catalogue; a
 * history base lends the synthetic scenario its symbol, interval and window. */
static nd_err_t check_bases(const char *path, nd_scenario_t *list, size_t count, char *err,
                            size_t err_len)
{
    for (size_t k = 0; k < count; k++) {
        if (list[k].kind != ND_SCENARIO_SYNTHETIC || strcmp(list[k].synth.base, "synthetic") == 0)
            continue;
        size_t b = 0;
        while (b < count && !(list[b].kind == ND_SCENARIO_HISTORY &&
                              strcmp(list[b].name, list[k].synth.base) == 0))
            b++;
        if (b == count) {
            nd_err_put(err, err_len, "%s: scenario '%s'.base: '%s' is neither \"synthetic\" nor a "
                    "history scenario", path, list[k].name, list[k].synth.base);
            return ND_EINVAL;
        }
        memcpy(list[k].symbol, list[b].symbol, sizeof list[k].symbol);
        memcpy(list[k].interval, list[b].interval, sizeof list[k].interval);
        list[k].from_ns = list[b].from_ns;
        list[k].to_ns = list[b].to_ns;
    }
    return ND_OK;
}

static nd_err_t parse_config(const char *path, json_t *root, nd_scenario_t *list, size_t *count,
                             char *err, size_t err_len)
{
    nd_jcfg_t c = {path, "", err, err_len};
    static const char *const top_keys[] = {"scenarios", "criteria", "include_builtins", NULL};
    if (!json_is_object(root))
        return nd_jcfg_bad(&c, NULL, "the top level must be a JSON object");
    nd_err_t rc = nd_jcfg_keys(&c, root, top_keys);
    if (rc != ND_OK)
        return rc;
    json_t *inc = json_object_get(root, "include_builtins");
    if (inc && !json_is_boolean(inc))
        return nd_jcfg_bad(&c, "include_builtins", "must be true or false");
    if (inc && json_is_false(inc))
        *count = 0;
    json_t *arr = json_object_get(root, "scenarios");
    if (arr && !json_is_array(arr))
        return nd_jcfg_bad(&c, "scenarios", "must be an array");
    for (size_t k = 0; arr && k < json_array_size(arr); k++) {
        snprintf(c.key, sizeof c.key, "scenarios[%zu]", k);
        rc = parse_scenario(&c, json_array_get(arr, k), list, count);
        if (rc != ND_OK)
            return rc;
    }
    return check_bases(path, list, *count, err, err_len);
}

nd_err_t nd_scenario_catalogue(const char *config_path, nd_scenario_t **out, size_t *count,
                               char *err, size_t err_len)
{
    ND_ASSERT(out != NULL && count != NULL);
    nd_scenario_t *list = nd_calloc(SCENARIOS_MAX, sizeof *list);
    if (!list)
        return ND_ENOMEM;
    size_t n = builtin_catalogue(list);
    nd_err_t rc = ND_OK;
    if (config_path) {
        json_t *root = NULL;
        rc = nd_json_file_load(config_path, ND_JSON_FILE_BYTES_MAX, JSON_REJECT_DUPLICATES, &root,
                               err, err_len);
        if (rc == ND_OK) {
            rc = parse_config(config_path, root, list, &n, err, err_len);
            json_decref(root);
        }
    }
    if (rc != ND_OK) {
        nd_free(list);
        return rc;
    }
    *out = list;
    *count = n;
    return ND_OK;
}

/* ---- history files ------------------------------------------------------------------------ */

typedef struct cache_entry {
    struct cache_entry *next;
    char path[512];
    int px_decimals, qty_decimals;
    nd_err_t rc;            /* how loading ended: a failure is remembered, not retried */
    char err[256];
    nd_bar_t *bars;
    size_t count;
} cache_entry_t;

struct nd_scenario_cache {
    cache_entry_t *head;
};

nd_err_t nd_scenario_cache_create(nd_scenario_cache_t **out)
{
    ND_ASSERT(out != NULL);
    nd_scenario_cache_t *c = nd_calloc(1, sizeof *c);
    if (!c)
        return ND_ENOMEM;
    *out = c;
    return ND_OK;
}

void nd_scenario_cache_destroy(nd_scenario_cache_t *cache)
{
    if (!cache)
        return;
    for (cache_entry_t *e = cache->head, *next; e; e = next) {
        next = e->next;
        nd_free(e->bars);
        nd_free(e);
    }
    nd_free(cache);
}

static nd_err_t read_all(const char *path, const nd_instrument_t *inst, cache_entry_t *e)
{
    nd_bar_source_t *src = NULL;
    nd_err_t rc = nd_bars_open(path, ND_BAR_FORMAT_AUTO, inst, &src, e->err, sizeof e->err);
    if (rc != ND_OK)
        return rc;
    rc = nd_bars_read_all(src, &e->bars, &e->count, e->err, sizeof e->err);
    src->close(src);
    return rc;
}

static const cache_entry_t *history_file(nd_scenario_cache_t *cache, const char *path,
                                         const nd_instrument_t *inst, cache_entry_t *scratch)
{
    for (cache_entry_t *e = cache ? cache->head : NULL; e; e = e->next)
        if (strcmp(e->path, path) == 0 && e->px_decimals == inst->px_decimals &&
            e->qty_decimals == inst->qty_decimals)
            return e;
    cache_entry_t *e = cache ? nd_calloc(1, sizeof *e) : scratch;
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    snprintf(e->path, sizeof e->path, "%s", path);
    e->px_decimals = inst->px_decimals;
    e->qty_decimals = inst->qty_decimals;
    e->rc = read_all(path, inst, e);
    if (cache) {
        e->next = cache->head;
        cache->head = e;
    }
    return e;
}

void nd_scenario_data_path(const nd_scenario_t *sc, const char *data_dir, char *buf, size_t cap)
{
    ND_ASSERT(sc != NULL && buf != NULL);
    snprintf(buf, cap, "%s/%s-%s.csv", data_dir ? data_dir : "data", sc->symbol, sc->interval);
}

void nd_scenario_needs(const nd_scenario_t *sc, char *buf, size_t cap)
{
    ND_ASSERT(sc != NULL && buf != NULL);
    char from[40], to[40];
    nd_time_format_iso(sc->from_ns, from, sizeof from);
    nd_time_format_iso(sc->to_ns - 1, to, sizeof to);
    from[10] = '\0';
    to[10] = '\0';
    snprintf(buf, cap, "%s %s from %s to %s", sc->symbol, sc->interval, from, to);
}

void nd_scenario_fetch_command(const nd_scenario_t *sc, const char *data_dir, char *buf,
                               size_t cap)
{
    ND_ASSERT(sc != NULL && buf != NULL);
    char from[40], to[40];
    nd_time_format_iso(sc->from_ns, from, sizeof from);
    nd_time_format_iso(sc->to_ns - 1, to, sizeof to);
    from[10] = '\0'; /* the date part: the downloader works in whole days */
    to[10] = '\0';
    snprintf(buf, cap, "noderr data fetch --symbol %s --interval %s --from %s --to %s --dir %s",
             sc->symbol, sc->interval, from, to, data_dir ? data_dir : "data");
}


static nd_err_t not_covered(const nd_scenario_t *sc, const char *data_dir, const char *why,
                            char *err, size_t err_len)
{
    char cmd[400];
    nd_scenario_fetch_command(sc, data_dir, cmd, sizeof cmd);
    nd_err_put(err, err_len, "%s; get it with: %s", why, cmd);
    return ND_ENOTFOUND;
}

static nd_err_t load_history(const nd_scenario_t *sc, const char *data_dir,
                             const nd_instrument_t *inst, nd_scenario_cache_t *cache,
                             nd_bar_t **bars, size_t *count, char *err, size_t err_len)
{
    char path[512], why[700];
    nd_scenario_data_path(sc, data_dir, path, sizeof path);
    cache_entry_t *scratch = cache ? NULL : nd_alloc(sizeof *scratch);
    const cache_entry_t *e = history_file(cache, path, inst, scratch);
    nd_err_t rc = ND_OK;
    if (!e) {
        rc = ND_ENOMEM;
    } else if (e->rc == ND_EIO) {
        snprintf(why, sizeof why, "%s is missing", path);
        rc = not_covered(sc, data_dir, why, err, err_len);
    } else if (e->rc != ND_OK) {
        nd_err_put(err, err_len, "%s", e->err);
        rc = e->rc;
    } else {
        size_t lo = nd_bars_lower_bound(e->bars, e->count, sc->from_ns);
        size_t hi = nd_bars_lower_bound(e->bars, e->count, sc->to_ns);
        if (hi == lo || e->bars[lo].ts_ns > sc->from_ns + COVER_SLACK_NS ||
            e->bars[hi - 1].ts_ns < sc->to_ns - COVER_SLACK_NS) {
            snprintf(why, sizeof why, "%s does not cover the window of %s", path, sc->name);
            rc = not_covered(sc, data_dir, why, err, err_len);
        } else if (!(*bars = nd_alloc((hi - lo) * sizeof **bars))) {
            rc = ND_ENOMEM;
        } else {
            memcpy(*bars, e->bars + lo, (hi - lo) * sizeof **bars);
            for (size_t k = 0; k < hi - lo; k++)
                (*bars)[k].instrument_id = inst->id;
            *count = hi - lo;
        }
    }
    if (scratch)
        nd_free(scratch->bars);
    nd_free(scratch);
    return rc;
}

/* ---- synthetic shocks --------------------------------------------------------------------- */

static int64_t to_tick(double px_units, int64_t tick)
{
    double ticks = px_units / (double)tick + 0.5;
    int64_t t = ticks < 1.0 ? 1 : (int64_t)ticks;
    return t * tick;
}

/* Scales a bar's open by f_open and close by f_close (high and low by the extreme factor),
 * widens the range by range_mult around the body, and restores the bar invariants. */
static void scale_bar(nd_bar_t *b, double f_open, double f_close, double range_mult, int64_t tick)
{
    double lo_f = f_open < f_close ? f_open : f_close, hi_f = f_open > f_close ? f_open : f_close;
    double open = (double)b->open * f_open, close = (double)b->close * f_close;
    double body_hi = open > close ? open : close, body_lo = open < close ? open : close;
    double high = body_hi + ((double)b->high * hi_f - body_hi) * range_mult;
    double low = body_lo - (body_lo - (double)b->low * lo_f) * range_mult;
    if (high < body_hi)
        high = body_hi;
    if (low > body_lo)
        low = body_lo;
    if (low < body_lo * 0.01) /* a range never reaches zero: keep 1% of the body */
        low = body_lo * 0.01;
    b->open = to_tick(open, tick);
    b->close = to_tick(close, tick);
    b->high = to_tick(high, tick);
    b->low = to_tick(low, tick);
    int64_t mx = b->open > b->close ? b->open : b->close;
    int64_t mn = b->open < b->close ? b->open : b->close;
    if (b->high < mx)
        b->high = mx;
    if (b->low > mn)
        b->low = mn;
}

static int64_t scale_volume(int64_t volume, double mult, int64_t lot)
{
    double v = (double)volume * mult / (double)lot;
    return v < 0 ? 0 : (int64_t)v * lot; /* rounded down to the lot: thin means thin */
}

static void flash_crash(nd_bar_t *bars, size_t n, size_t s, const nd_scenario_synth_t *p,
                        int64_t interval_ns, const nd_instrument_t *inst)
{
    int64_t drop_ns = p->drop_minutes * ND_NS_PER_MIN;
    size_t n_drop = (size_t)((drop_ns + interval_ns - 1) / interval_ns);
    size_t n_rec = (size_t)p->recovery_bars;
    double trough = 1.0 - p->drop_pct / 100.0;
    double level = 1.0 - p->drop_pct / 100.0 * (1.0 - p->recovery_pct / 100.0);
    double pre_close = (double)bars[s - 1].close;
    for (size_t i = s; i < n; i++) {
        size_t j = i - s;
        double fo, fc;
        if (j < n_drop) {
            fo = 1.0 - (1.0 - trough) * (double)j / (double)n_drop;
            fc = 1.0 - (1.0 - trough) * (double)(j + 1) / (double)n_drop;
            bars[i].volume = scale_volume(bars[i].volume, CRASH_VOLUME_MULT, inst->lot_size);
        } else if (j < n_drop + n_rec) {
            size_t k = j - n_drop;
            fo = trough + (level - trough) * (double)k / (double)n_rec;
            fc = trough + (level - trough) * (double)(k + 1) / (double)n_rec;
        } else {
            fo = fc = level;
        }
        scale_bar(&bars[i], fo, fc, 1.0, inst->tick_size);
        if (j + 1 == n_drop) { /* the trough is exactly drop_pct below the pre-crash close */
            nd_bar_t *b = &bars[i];
            b->low = to_tick(pre_close * trough, inst->tick_size);
            b->open = b->open < b->low ? b->low : b->open;
            b->close = b->close < b->low ? b->low : b->close;
            b->high = b->high < b->open ? b->open : b->high;
            b->high = b->high < b->close ? b->close : b->high;
        }
    }
}

static void liquidity_crisis(nd_bar_t *bars, size_t n, size_t s, const nd_scenario_synth_t *p,
                             const nd_instrument_t *inst)
{
    size_t dur = (size_t)p->duration_bars;
    double end = 1.0 - p->drift_pct / 100.0;
    for (size_t i = s; i < n; i++) {
        size_t j = i - s;
        if (j < dur) {
            double fo = 1.0 - (1.0 - end) * (double)j / (double)dur;
            double fc = 1.0 - (1.0 - end) * (double)(j + 1) / (double)dur;
            scale_bar(&bars[i], fo, fc, p->spread_mult, inst->tick_size);
            bars[i].volume = scale_volume(bars[i].volume, p->volume_mult, inst->lot_size);
        } else {
            scale_bar(&bars[i], end, end, 1.0, inst->tick_size);
        }
    }
}

static void gap_down(nd_bar_t *bars, size_t n, size_t s, const nd_scenario_synth_t *p,
                     const nd_instrument_t *inst)
{
    double target = (double)bars[s - 1].low * (1.0 - p->gap_pct / 100.0);
    double k = target / (double)bars[s].open;
    for (size_t i = s; i < n; i++)
        scale_bar(&bars[i], k, k, 1.0, inst->tick_size);
    /* Rounding to the tick must not close the gap: the open stays below the previous low. */
    if (bars[s].open >= bars[s - 1].low) {
        bars[s].open = bars[s - 1].low - inst->tick_size;
        if (bars[s].low > bars[s].open)
            bars[s].low = bars[s].open;
    }
    bars[s].volume = scale_volume(bars[s].volume, CRASH_VOLUME_MULT, inst->lot_size);
}

static size_t shock_index(const nd_scenario_synth_t *p, size_t n)
{
    double frac = p->at_fraction;
    if (frac < 0) {
        nd_rand_t rng;
        nd_rand_init(&rng, p->seed ^ 0x5C3A210F0E5EEDULL); /* independent of the base path */
        frac = 0.3 + 0.4 * nd_rand_uniform(&rng);
    }
    size_t s = (size_t)(frac * (double)n);
    if (s < 1)
        s = 1;
    if (s > n - 1)
        s = n - 1;
    return s;
}

static void apply_shock(nd_bar_t *bars, size_t n, const nd_scenario_synth_t *p,
                        int64_t interval_ns, const nd_instrument_t *inst)
{
    if (p->shock == ND_SHOCK_NONE || n < 2)
        return;
    size_t s = shock_index(p, n);
    ND_ASSERT(s >= 1 && s < n);
    switch (p->shock) {
    case ND_SHOCK_FLASH_CRASH: flash_crash(bars, n, s, p, interval_ns, inst); break;
    case ND_SHOCK_LIQUIDITY_CRISIS: liquidity_crisis(bars, n, s, p, inst); break;
    case ND_SHOCK_GAP_DOWN: gap_down(bars, n, s, p, inst); break;
    case ND_SHOCK_NONE: break;
    }
}

static nd_err_t load_synth_base(const nd_scenario_t *sc, int64_t interval_ns,
                                const nd_instrument_t *inst, nd_bar_t **bars, size_t *count,
                                char *err, size_t err_len)
{
    nd_synth_config_t cfg;
    nd_synth_config_default(&cfg);
    cfg.seed = sc->synth.seed;
    cfg.bars = sc->synth.bars;
    cfg.interval_ns = interval_ns;
    cfg.start_price = sc->synth.start_price;
    cfg.annual_vol = sc->synth.annual_vol;
    nd_bar_source_t *src = NULL;
    nd_err_t rc = nd_synth_open(&cfg, inst, &src, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_bar_t *b = nd_alloc((size_t)cfg.bars * sizeof *b);
    size_t n = 0;
    while (b && n < (size_t)cfg.bars && (rc = src->next(src, &b[n])) == ND_OK)
        n++;
    src->close(src);
    if (!b)
        return ND_ENOMEM;
    if (rc != ND_OK && rc != ND_EEOF) {
        nd_free(b);
        nd_err_put(err, err_len, "synthetic base of %s: %s", sc->name, nd_strerror(rc));
        return rc;
    }
    *bars = b;
    *count = n;
    return ND_OK;
}

nd_err_t nd_scenario_load(const nd_scenario_t *sc, const char *data_dir,
                          const nd_instrument_t *inst, nd_scenario_cache_t *cache,
                          nd_bar_t **bars, size_t *count, char *err, size_t err_len)
{
    ND_ASSERT(sc != NULL && inst != NULL);
    ND_ASSERT(bars != NULL && count != NULL);
    int64_t interval_ns = 0;
    if (nd_scenario_interval_ns(sc->interval, &interval_ns) != ND_OK) {
        nd_err_put(err, err_len, "scenario %s: nd_jcfg_bad interval '%s'", sc->name, sc->interval);
        return ND_EINVAL;
    }
    if (sc->kind == ND_SCENARIO_HISTORY)
        return load_history(sc, data_dir, inst, cache, bars, count, err, err_len);
    nd_bar_t *b = NULL;
    size_t n = 0;
    nd_err_t rc;
    if (strcmp(sc->synth.base, "synthetic") == 0) {
        rc = load_synth_base(sc, interval_ns, inst, &b, &n, err, err_len);
    } else {
        /* A history base: the catalogue copied its symbol, interval and window into sc. */
        nd_scenario_t base = *sc;
        base.kind = ND_SCENARIO_HISTORY;
        rc = load_history(&base, data_dir, inst, cache, &b, &n, err, err_len);
    }
    if (rc != ND_OK)
        return rc;
    apply_shock(b, n, &sc->synth, interval_ns, inst);
    *bars = b;
    *count = n;
    return ND_OK;
}

/* ---- in-memory source --------------------------------------------------------------------- */

typedef struct memory_source {
    nd_bar_source_t base; /* first member: the public pointer converts back to this struct */
    nd_bar_t *bars;
    size_t count;
    size_t pos;
    bool owned;
} memory_source_t;

static nd_err_t memory_next(nd_bar_source_t *src, nd_bar_t *out)
{
    memory_source_t *m = (memory_source_t *)src;
    if (m->pos >= m->count)
        return ND_EEOF;
    *out = m->bars[m->pos++];
    return ND_OK;
}

static void memory_close(nd_bar_source_t *src)
{
    memory_source_t *m = (memory_source_t *)src;
    if (m->owned)
        nd_free(m->bars);
    nd_free(m);
}

nd_err_t nd_bars_memory_open(nd_bar_t *bars, size_t count, bool owned, nd_bar_source_t **out)
{
    ND_ASSERT(out != NULL);
    ND_ASSERT(bars != NULL || count == 0);
    memory_source_t *m = nd_calloc(1, sizeof *m);
    if (!m)
        return ND_ENOMEM;
    m->base.next = memory_next;
    m->base.close = memory_close;
    m->bars = bars;
    m->count = count;
    m->owned = owned;
    *out = &m->base;
    return ND_OK;
}

nd_err_t nd_scenario_open(const nd_scenario_t *sc, const char *data_dir,
                          const nd_instrument_t *inst, nd_bar_source_t **out, char *err,
                          size_t err_len)
{
    ND_ASSERT(out != NULL);
    nd_bar_t *bars = NULL;
    size_t count = 0;
    nd_err_t rc = nd_scenario_load(sc, data_dir, inst, NULL, &bars, &count, err, err_len);
    if (rc != ND_OK)
        return rc;
    rc = nd_bars_memory_open(bars, count, true, out);
    if (rc != ND_OK)
        nd_free(bars);
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------------- */

static json_t *synth_json(const nd_scenario_t *sc)
{
    const nd_scenario_synth_t *p = &sc->synth;
    json_t *o = json_object();
    json_object_set_new(o, "shock", json_string(nd_shock_kind_name(p->shock)));
    json_object_set_new(o, "seed", json_integer((json_int_t)p->seed));
    json_object_set_new(o, "base", json_string(p->base));
    if (strcmp(p->base, "synthetic") == 0) {
        json_object_set_new(o, "bars", json_integer(p->bars));
        json_object_set_new(o, "start_price", json_real(p->start_price));
        json_object_set_new(o, "annual_vol", json_real(p->annual_vol));
    }
    json_object_set_new(o, "at_fraction", p->at_fraction < 0 ? json_null()
                                                             : json_real(p->at_fraction));
    if (p->shock == ND_SHOCK_FLASH_CRASH) {
        json_object_set_new(o, "drop_pct", json_real(p->drop_pct));
        json_object_set_new(o, "drop_minutes", json_integer(p->drop_minutes));
        json_object_set_new(o, "recovery_pct", json_real(p->recovery_pct));
        json_object_set_new(o, "recovery_bars", json_integer(p->recovery_bars));
    } else if (p->shock == ND_SHOCK_LIQUIDITY_CRISIS) {
        json_object_set_new(o, "spread_mult", json_real(p->spread_mult));
        json_object_set_new(o, "volume_mult", json_real(p->volume_mult));
        json_object_set_new(o, "drift_pct", json_real(p->drift_pct));
        json_object_set_new(o, "duration_bars", json_integer(p->duration_bars));
    } else if (p->shock == ND_SHOCK_GAP_DOWN) {
        json_object_set_new(o, "gap_pct", json_real(p->gap_pct));
    }
    return o;
}

json_t *nd_scenario_json(const nd_scenario_t *sc)
{
    ND_ASSERT(sc != NULL);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(sc->name));
    json_object_set_new(o, "kind", json_string(nd_scenario_kind_name(sc->kind)));
    json_object_set_new(o, "condition", json_string(sc->condition));
    json_object_set_new(o, "description", json_string(sc->description));
    json_object_set_new(o, "symbol", json_string(sc->symbol));
    json_object_set_new(o, "interval", json_string(sc->interval));
    bool windowed = sc->kind == ND_SCENARIO_HISTORY || strcmp(sc->synth.base, "synthetic") != 0;
    json_object_set_new(o, "from", windowed ? nd_json_time(sc->from_ns) : json_null());
    json_object_set_new(o, "to", windowed ? nd_json_time(sc->to_ns) : json_null());
    if (sc->kind == ND_SCENARIO_SYNTHETIC)
        json_object_set_new(o, "synthetic", synth_json(sc));
    if (sc->venue.set) {
        json_t *v = json_object();
        json_object_set_new(v, "slippage_bps", json_real((double)sc->venue.slippage_bps_e2 / 100));
        json_object_set_new(v, "impact_bps", json_real((double)sc->venue.impact_bps_e2 / 100));
        json_object_set_new(v, "max_volume_pct",
                            json_real((double)sc->venue.max_volume_share_e4 / 100));
        json_object_set_new(o, "venue", v);
    }
    return o;
}
