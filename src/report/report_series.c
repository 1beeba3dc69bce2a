/* report_series.c: the pure computations behind the charts and the heatmap: reading a chart
 * series out of the document, drawdown against the running peak, and calendar-month returns.
 * Chart times are whole seconds, strictly ascending (what the charting library demands), so a
 * point that does not move time forward is dropped rather than breaking the page. */
#include "report_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"

#include <math.h>
#include <string.h>

void nd_report_drawdown(const double *equity, size_t count, double *out)
{
    ND_ASSERT(equity != NULL || count == 0);
    ND_ASSERT(out != NULL || count == 0);
    double peak = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        if (equity[i] > peak)
            peak = equity[i];
        out[i] = peak > 0.0 ? equity[i] / peak - 1.0 : NAN;
    }
}

/* The UTC calendar month of a time in ms, as year * 12 + (month - 1). */
static int64_t month_key(double ts_ms)
{
    nd_civil_t c;
    nd_time_to_civil((int64_t)floor(ts_ms) * 1000000, &c);
    return (int64_t)c.year * 12 + (c.month - 1);
}

static double ratio_less_one(double end, double start)
{
    return end > 0.0 && start > 0.0 ? end / start - 1.0 : NAN;
}

nd_err_t nd_report_monthly_returns(const double *ts_ms, const double *equity, size_t count,
                                   nd_report_month_t *out, size_t cap, size_t *out_count)
{
    ND_ASSERT(ts_ms != NULL || count == 0);
    ND_ASSERT(out_count != NULL);
    ND_ASSERT(out != NULL || cap == 0);
    size_t months = 0;
    double base = count ? equity[0] : 0.0;
    for (size_t i = 0; i < count; i++) {
        int64_t key = month_key(ts_ms[i]);
        bool last_of_month = i + 1 == count || month_key(ts_ms[i + 1]) != key;
        if (!last_of_month)
            continue;
        if (months < cap) {
            out[months].year = (int)(key >= 0 ? key / 12 : (key - 11) / 12);
            out[months].month = (int)(key - (int64_t)out[months].year * 12) + 1;
            out[months].ret = ratio_less_one(equity[i], base);
        }
        base = equity[i];
        months++;
    }
    *out_count = months;
    return months > cap ? ND_EFULL : ND_OK;
}

void nd__report_points_free(nd__report_points_t *points)
{
    ND_ASSERT(points != NULL);
    nd_free(points->time_s);
    nd_free(points->value);
    nd_free(points->time_ms);
    memset(points, 0, sizeof *points);
}

/* One element of the series: [ts, value] or {"ts": .., "equity"|"value": ..}. */
static bool read_point(const json_t *item, double *ts_ms, double *value)
{
    if (json_is_array(item) && json_array_size(item) >= 2)
        return nd__report_time_ms(json_array_get(item, 0), ts_ms) &&
               nd__report_number(json_array_get(item, 1), value);
    if (!json_is_object(item))
        return false;
    const json_t *t = json_object_get(item, "ts");
    const json_t *v = json_object_get(item, "equity");
    if (!v)
        v = json_object_get(item, "value");
    return nd__report_time_ms(t, ts_ms) && nd__report_number(v, value);
}

nd_err_t nd__report_points_read(const json_t *array, nd__report_points_t *out)
{
    ND_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    size_t n = json_is_array(array) ? json_array_size(array) : 0;
    if (n == 0)
        return ND_OK;
    out->time_s = nd_alloc(n * sizeof *out->time_s);
    out->value = nd_alloc(n * sizeof *out->value);
    out->time_ms = nd_alloc(n * sizeof *out->time_ms);
    if (!out->time_s || !out->value || !out->time_ms) {
        nd__report_points_free(out);
        return ND_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        double ts_ms, value;
        if (!read_point(json_array_get(array, i), &ts_ms, &value))
            continue;
        /* Beyond +-2^53 ms a time is no calendar date the page could show. */
        if (fabs(ts_ms) > 9.0e15)
            continue;
        int64_t sec = (int64_t)floor(ts_ms / 1000.0);
        if (out->count > 0 && sec <= out->time_s[out->count - 1])
            continue;
        out->time_s[out->count] = sec;
        out->value[out->count] = value;
        out->time_ms[out->count] = ts_ms;
        out->count++;
    }
    ND_ASSERT(out->count <= n);
    return ND_OK;
}
