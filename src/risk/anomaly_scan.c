/* anomaly_scan.c: scoring a whole history with the anomaly model (anomaly.h nd_anomaly_scan):
 * the summary, the trips at a threshold, the known crash windows and the calm z quantiles that
 * the tail tables of anomaly.c were read from. Used by `noderr anomaly` and the calibration test;
 * never on a trading path (it allocates). */
#include "noderr/alloc.h"
#include "noderr/anomaly.h"
#include "noderr/assert.h"
#include "noderr/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(sec) ((int64_t)(sec) * ND_NS_PER_SEC)

/* The crash windows the issue names, UTC days: the event itself, and the days around it that are
 * not counted as calm (the run-up and the aftermath). */
static const nd_anomaly_event_window_t known_events[] = {
    {"covid-2020-03-12", S(1583971200), S(1584144000), S(1583625600), S(1584835200)},
    {"2021-05-19", S(1621382400), S(1621468800), S(1620777600), S(1621987200)},
    {"luna-ust-2022-05", S(1651881600), S(1652486400), S(1651622400), S(1653091200)},
    {"ftx-2022-11-08", S(1667865600), S(1668124800), S(1667606400), S(1668729600)},
};
#define KNOWN_EVENTS (sizeof known_events / sizeof known_events[0])
_Static_assert(KNOWN_EVENTS <= sizeof(((nd_anomaly_report_t *)0)->event) /
                                   sizeof(((nd_anomaly_report_t *)0)->event[0]),
               "the report holds every known event");

const nd_anomaly_event_window_t *nd_anomaly_known_events(size_t *count)
{
    ND_ASSERT(count != NULL);
    *count = KNOWN_EVENTS;
    return known_events;
}

static bool is_calm(int64_t ts)
{
    for (size_t i = 0; i < KNOWN_EVENTS; i++)
        if (ts >= known_events[i].calm_from_ns && ts < known_events[i].calm_to_ns)
            return false;
    return true;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Quantiles of one input's calm z scores: the z exceeded by a share 10^-(i+1); at least five
 * observations must lie beyond it, else 0. */
static void quantiles(double *z, uint64_t n, double out[ND_ANOMALY_QUANTILES])
{
    qsort(z, (size_t)n, sizeof *z, cmp_desc);
    double share = 0.1;
    for (int i = 0; i < ND_ANOMALY_QUANTILES; i++, share /= 10.0) {
        double beyond = share * (double)n;
        out[i] = beyond >= 5.0 ? z[(size_t)beyond - 1] : 0.0;
    }
}

static void note_events(nd_anomaly_report_t *r, const nd_anomaly_score_t *s, bool tripped)
{
    for (size_t i = 0; i < KNOWN_EVENTS; i++) {
        nd_anomaly_event_result_t *ev = &r->event[i];
        if (s->ts_ns < known_events[i].from_ns || s->ts_ns >= known_events[i].to_ns)
            continue;
        ev->covered = true;
        if (tripped && ev->first_trip_ns == 0)
            ev->first_trip_ns = s->ts_ns;
        if (s->confidence_e6 > ev->max_confidence_e6) {
            ev->max_confidence_e6 = s->confidence_e6;
            ev->max_ts_ns = s->ts_ns;
        }
    }
}

static void note_score(nd_anomaly_report_t *r, const nd_anomaly_score_t *s, bool *above,
                       double *const *zbuf)
{
    if (!s->warm)
        return;
    r->warm++;
    bool calm = is_calm(s->ts_ns);
    static const int64_t levels[4] = {500000, 800000, 900000, 990000};
    for (int i = 0; i < 4; i++)
        r->conf_at_least[i] += s->confidence_e6 >= levels[i];
    if (s->confidence_e6 > r->max_confidence_e6) {
        r->max_confidence_e6 = s->confidence_e6;
        r->max_ts_ns = s->ts_ns;
    }
    bool now_above = s->confidence_e6 >= r->threshold_e6;
    bool tripped = now_above && !*above;
    *above = now_above;
    if (calm) {
        r->calm++;
        for (int k = 0; k < ND_ANOMALY_SCORES; k++)
            if (s->scored & (1u << k))
                zbuf[k][r->calm_scored[k]++] = (double)s->z_e3[k] / 1000.0;
        zbuf[ND_ANOMALY_SCORES][r->calm_scored[ND_ANOMALY_SCORES]++] =
            (double)s->evidence_e3 / 1000.0;
    }
    note_events(r, s, tripped);
    if (!tripped)
        return;
    r->trips++;
    r->calm_trips += calm;
    if (r->trips_kept < ND_ANOMALY_TRIPS_KEPT) {
        nd_anomaly_trip_t *t = &r->trip[r->trips_kept++];
        t->ts_ns = s->ts_ns;
        t->confidence_e6 = s->confidence_e6;
        t->top = s->top;
        t->z_e3 = s->top >= 0 ? s->z_e3[s->top] : 0;
        t->calm = calm;
    }
}

/* Scores one stream from fresh model state into the report. */
static nd_err_t scan_stream(const nd_anomaly_config_t *cfg, const nd_anomaly_obs_t *obs,
                            size_t count, size_t stream, nd_anomaly_report_t *report,
                            double *const *zbuf, char *err, size_t err_len)
{
    nd_anomaly_t m;
    if (nd_anomaly_init(&m, cfg) != ND_OK) {
        snprintf(err, err_len, "bad anomaly model configuration");
        return ND_EINVAL;
    }
    bool above = false;
    for (size_t i = 0; i < count; i++) {
        nd_anomaly_score_t s;
        if (nd_anomaly_observe(&m, &obs[i], &s) != ND_OK) {
            snprintf(err, err_len, "stream %zu, observation %zu: time going backwards or a bad "
                     "value", stream + 1, i + 1);
            return ND_EINVAL;
        }
        if (report->observations == 0 || s.ts_ns < report->first_ts_ns)
            report->first_ts_ns = s.ts_ns;
        if (s.ts_ns > report->last_ts_ns)
            report->last_ts_ns = s.ts_ns;
        report->observations++;
        note_score(report, &s, &above, zbuf);
    }
    if (report->interval_ns == 0 || (m.interval_ns > 0 && m.interval_ns < report->interval_ns))
        report->interval_ns = m.interval_ns;
    return ND_OK;
}

nd_err_t nd_anomaly_scan(const nd_anomaly_config_t *cfg, const nd_anomaly_obs_t *const *streams,
                         const size_t *counts, size_t stream_count, int64_t threshold_e6,
                         nd_anomaly_report_t *report, char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && report != NULL);
    ND_ASSERT(streams != NULL || stream_count == 0);
    memset(report, 0, sizeof *report);
    report->threshold_e6 = threshold_e6;
    size_t total = 0;
    for (size_t i = 0; i < stream_count; i++)
        total += counts[i];
    double *zbuf[ND_ANOMALY_SCORES + 1];
    double *all = nd_calloc(total * (ND_ANOMALY_SCORES + 1) + 1, sizeof *all);
    if (!all) {
        snprintf(err, err_len, "out of memory for %zu observations", total);
        return ND_ENOMEM;
    }
    for (int k = 0; k <= ND_ANOMALY_SCORES; k++)
        zbuf[k] = all + (size_t)k * total;
    for (size_t i = 0; i < stream_count; i++) {
        uint64_t calm_before = report->calm;
        nd_err_t rc = scan_stream(cfg, streams[i], counts[i], i, report, zbuf, err, err_len);
        if (rc != ND_OK) {
            nd_free(all);
            return rc;
        }
        report->calm_hours += (double)(report->calm - calm_before) *
                              (double)report->interval_ns / (double)ND_NS_PER_HOUR;
    }
    for (int k = 0; k <= ND_ANOMALY_SCORES; k++)
        quantiles(zbuf[k], report->calm_scored[k], report->quantile[k]);
    nd_free(all);
    return ND_OK;
}

/* ---- Loading a history as observations ---------------------------------------------------- */

typedef struct obs_vec {
    nd_anomaly_obs_t *v;
    size_t n, cap;
} obs_vec_t;

static nd_err_t obs_push(obs_vec_t *vec, const nd_anomaly_obs_t *o)
{
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 4096;
        nd_anomaly_obs_t *v = nd_realloc(vec->v, cap * sizeof *v);
        if (!v)
            return ND_ENOMEM;
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = *o;
    return ND_OK;
}

static nd_err_t load_bars(nd_bar_source_t *src, const nd_instrument_t *inst, obs_vec_t *vec,
                          char *err, size_t err_len)
{
    nd_bar_t bar;
    int64_t prev_close = 0;
    nd_err_t rc;
    while ((rc = src->next(src, &bar)) == ND_OK) {
        nd_anomaly_obs_t o;
        nd_anomaly_obs_from_bar(&bar, prev_close, inst, &o);
        prev_close = bar.close;
        if ((rc = obs_push(vec, &o)) != ND_OK) {
            snprintf(err, err_len, "out of memory");
            return rc;
        }
    }
    if (rc == ND_EEOF)
        return ND_OK;
    snprintf(err, err_len, "%s", src->err);
    return rc;
}

static nd_err_t load_ticks(nd_tick_source_t *src, const nd_instrument_t *inst, int64_t bucket_ns,
                           obs_vec_t *vec, char *err, size_t err_len)
{
    nd_anomaly_bucket_t b;
    if (nd_anomaly_bucket_init(&b, bucket_ns, inst) != ND_OK) {
        snprintf(err, err_len, "the bucket interval must be > 0");
        return ND_EINVAL;
    }
    nd_tick_event_t tick;
    nd_err_t rc;
    uint64_t seq = 0;
    nd_anomaly_obs_t o;
    while ((rc = nd_ticks_next(src, &tick)) == ND_OK) {
        nd_market_event_t ev;
        nd_market_event_from_tick(&tick, 0, seq++, &ev);
        if (nd_anomaly_bucket_push(&b, &ev, &o) && (rc = obs_push(vec, &o)) != ND_OK) {
            snprintf(err, err_len, "out of memory");
            return rc;
        }
    }
    if (rc != ND_EEOF) {
        snprintf(err, err_len, "%s", nd_ticks_error(src));
        return rc;
    }
    /* The last bucket is still open at the end of the file: dropped, as an unfinished candle. */
    return ND_OK;
}

/* Loads path at the instrument's scales into vec. */
static nd_err_t load_file(const char *path, const nd_instrument_t *inst, int64_t bucket_ns,
                          obs_vec_t *vec, char *err, size_t err_len)
{
    nd_bar_source_t *bars = NULL;
    char why[256];
    nd_err_t rc = nd_bars_open(path, ND_BAR_FORMAT_AUTO, inst, &bars, why, sizeof why);
    if (rc == ND_OK) {
        rc = load_bars(bars, inst, vec, err, err_len);
        bars->close(bars);
        return rc;
    }
    nd_tick_source_t *ticks = NULL;
    char why2[256];
    rc = nd_ticks_open(path, ND_TICK_FORMAT_AUTO, inst, &ticks, why2, sizeof why2);
    if (rc != ND_OK) {
        snprintf(err, err_len, "neither bars (%s) nor ticks (%s)", why, why2);
        return rc;
    }
    rc = load_ticks(ticks, inst, bucket_ns, vec, err, err_len);
    nd_ticks_close(ticks);
    return rc;
}

nd_err_t nd_anomaly_obs_load(const char *path, int64_t bucket_ns, nd_anomaly_obs_t **out,
                             size_t *count, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && out != NULL && count != NULL);
    char symbol[ND_NAME_MAX];
    nd_instrument_t inst;
    if (nd_instrument_symbol_from_path(path, symbol, sizeof symbol) != ND_OK ||
        nd_instrument_init(&inst, symbol, "sim") != ND_OK)
        nd_instrument_init(&inst, "BTC/USDT", "sim");
    /* The model takes volume as a double in base units, so the quantity scale only has to hold
     * the file: a volume past int64 at 8 decimals (LUNA's last hours: 1.45e11 coins) is read
     * again at 4, then 0 decimals. Any other error stops at once. */
    static const int qty_decimals[] = {ND_DEFAULT_QTY_DECIMALS, 4, 0};
    nd_err_t rc = ND_EINVAL;
    for (size_t i = 0; i < sizeof qty_decimals / sizeof qty_decimals[0]; i++) {
        obs_vec_t vec = {NULL, 0, 0};
        inst.qty_decimals = qty_decimals[i];
        inst.lot_size = 1;
        rc = load_file(path, &inst, bucket_ns, &vec, err, err_len);
        if (rc == ND_OK) {
            *out = vec.v;
            *count = vec.n;
            return ND_OK;
        }
        nd_free(vec.v);
        if (!strstr(err, "out of range") && rc != ND_EOVERFLOW)
            return rc;
    }
    return rc;
}
