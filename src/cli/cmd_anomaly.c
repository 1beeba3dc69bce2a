/* cmd_anomaly.c: `noderr anomaly --data FILE [--data FILE]... [--threshold P] [--json]`: scores
 * bar, trade or bookTicker files with the anomaly model (anomaly.h) and prints the confidence
 * series' summary, the trips at the threshold, the known crash windows and the calm z quantiles
 * (the calibration figures of docs/anomaly.md). Several files are scored each from fresh model
 * state and pooled. Bad input: exit 2 naming the file, the line and why. */
#include "cli.h"

#include "noderr/alloc.h"
#include "noderr/anomaly.h"
#include "noderr/clock.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define FILES_MAX 16

static const char usage_text[] =
    "usage: noderr anomaly --data FILE [--data FILE]... [--threshold P] [--bucket-s N]\n"
    "                      [--window-days N] [--span N] [--warmup N] [--json]\n"
    "\n"
    "Scores each FILE with the online anomaly model (docs/anomaly.md) from fresh state and pools\n"
    "the results: a bar file (CSV ts,open,high,low,close,volume or kline) gives one observation\n"
    "per bar (return, volume); a trades or bookTicker file is cut into buckets of --bucket-s\n"
    "seconds (default 1: return, spread, volume, message rate). Prints the summary of the\n"
    "confidence series, the trips at --threshold (default 0.80; a run at or above it counts\n"
    "once), the trips per 1,000 calm hours (calm: outside the known crash windows and the days\n"
    "around them), each known crash window's first trip, and the calm z quantiles the model's\n"
    "tail tables come from. --window-days (30), --span (48) and --warmup (96) are the model's.\n";


typedef struct anomaly_opts {
    const char *files[FILES_MAX];
    size_t file_count;
    int64_t threshold_e6, bucket_s, window_days, span, warmup;
    bool json;
} anomaly_opts_t;

enum { OPT_DATA = 1 };

static const nd_cli_opt_t options[] = {
    ND_CLI_ARG("data", OPT_DATA),
    ND_CLI_FIXED("threshold", anomaly_opts_t, threshold_e6, 6, 1, 1000000),
    ND_CLI_INT("bucket-s", anomaly_opts_t, bucket_s, 1, 86400),
    ND_CLI_INT("window-days", anomaly_opts_t, window_days, 1, 3650),
    ND_CLI_INT("span", anomaly_opts_t, span, 2, 100000),
    ND_CLI_INT("warmup", anomaly_opts_t, warmup, 2, 1000000),
    ND_CLI_SET("json", anomaly_opts_t, json),
    ND_CLI_OPTS_END,
};

static int handle(void *ctx, int opt, const char *arg)
{
    anomaly_opts_t *o = ctx;
    switch (opt) {
    case OPT_DATA:
        if (o->file_count == FILES_MAX) {
            fprintf(stderr, "noderr anomaly: --data: at most %d files\n", FILES_MAX);
            return -1;
        }
        o->files[o->file_count++] = arg;
        return 0;
    }
    return -1;
}

static double per_1000h(uint64_t trips, double hours)
{
    return hours > 0 ? (double)trips * 1000.0 / hours : 0.0;
}

static void iso(int64_t ns, char *buf, size_t cap)
{
    if (ns == 0)
        snprintf(buf, cap, "-");
    else
        nd_time_format_iso(ns, buf, cap);
}

static void print_text(const anomaly_opts_t *o, const nd_anomaly_report_t *r)
{
    char a[40], b[40], span[16];
    iso(r->first_ts_ns, a, sizeof a);
    iso(r->last_ts_ns, b, sizeof b);
    printf("files          %zu\n", o->file_count);
    printf("observations   %llu, %s .. %s, interval %s\n", (unsigned long long)r->observations, a,
           b, r->interval_ns > 0 ? nd_span_format(r->interval_ns, span, sizeof span) : "-");
    printf("warm           %llu (confidence >= 0.50: %llu, >= 0.80: %llu, >= 0.90: %llu, "
           ">= 0.99: %llu)\n", (unsigned long long)r->warm,
           (unsigned long long)r->conf_at_least[0], (unsigned long long)r->conf_at_least[1],
           (unsigned long long)r->conf_at_least[2], (unsigned long long)r->conf_at_least[3]);
    iso(r->max_ts_ns, a, sizeof a);
    printf("max confidence %.6f at %s\n", (double)r->max_confidence_e6 / 1e6, a);
    printf("threshold      %.6f: %llu trips, %llu in calm periods\n",
           (double)r->threshold_e6 / 1e6, (unsigned long long)r->trips,
           (unsigned long long)r->calm_trips);
    double rate = per_1000h(r->calm_trips, r->calm_hours);
    printf("calm           %llu observations, %.1f hours: %.3f trips per 1000 hours, %.4f per "
           "day\n", (unsigned long long)r->calm, r->calm_hours, rate, rate * 0.024);
    size_t n = 0;
    const nd_anomaly_event_window_t *ev = nd_anomaly_known_events(&n);
    for (size_t i = 0; i < n; i++) {
        const nd_anomaly_event_result_t *e = &r->event[i];
        if (!e->covered)
            continue;
        iso(e->first_trip_ns, a, sizeof a);
        iso(e->max_ts_ns, b, sizeof b);
        printf("event %-18s first trip %s, max confidence %.6f at %s\n", ev[i].name, a,
               (double)e->max_confidence_e6 / 1e6, b);
    }
    for (size_t i = 0; i < r->trips_kept; i++) {
        const nd_anomaly_trip_t *t = &r->trip[i];
        iso(t->ts_ns, a, sizeof a);
        printf("trip %s confidence %.6f by %s z %.3f%s\n", a, (double)t->confidence_e6 / 1e6,
               t->top >= 0 ? nd_anomaly_input_name((nd_anomaly_input_t)t->top) : "-",
               (double)t->z_e3 / 1000.0, t->calm ? " (calm)" : "");
    }
    for (int k = 0; k <= ND_ANOMALY_SCORES; k++) {
        if (r->calm_scored[k] == 0)
            continue;
        printf("calm z %-8s n %llu:", k == ND_ANOMALY_SCORES ? "evidence"
                                      : nd_anomaly_input_name((nd_anomaly_input_t)k),
               (unsigned long long)r->calm_scored[k]);
        for (int i = 0; i < ND_ANOMALY_QUANTILES; i++)
            printf(" 1e-%d %.3f", i + 1, r->quantile[k][i]);
        printf("\n");
    }
}

static json_t *events_json(const nd_anomaly_report_t *r)
{
    json_t *arr = json_array();
    size_t n = 0;
    const nd_anomaly_event_window_t *ev = nd_anomaly_known_events(&n);
    char a[40];
    for (size_t i = 0; i < n; i++) {
        const nd_anomaly_event_result_t *e = &r->event[i];
        if (!e->covered)
            continue;
        json_t *row = json_object();
        json_object_set_new(row, "name", json_string(ev[i].name));
        iso(e->first_trip_ns, a, sizeof a);
        json_object_set_new(row, "first_trip", e->first_trip_ns ? json_string(a) : json_null());
        json_object_set_new(row, "max_confidence_e6", json_integer(e->max_confidence_e6));
        iso(e->max_ts_ns, a, sizeof a);
        json_object_set_new(row, "max_at", json_string(a));
        json_array_append_new(arr, row);
    }
    return arr;
}

static json_t *report_json(const anomaly_opts_t *o, const nd_anomaly_report_t *r)
{
    json_t *doc = json_object();
    char a[40];
    json_object_set_new(doc, "files", json_integer((json_int_t)o->file_count));
    json_object_set_new(doc, "observations", json_integer((json_int_t)r->observations));
    json_object_set_new(doc, "interval_ns", json_integer(r->interval_ns));
    json_object_set_new(doc, "warm", json_integer((json_int_t)r->warm));
    json_object_set_new(doc, "threshold_e6", json_integer(r->threshold_e6));
    json_object_set_new(doc, "trips", json_integer((json_int_t)r->trips));
    json_object_set_new(doc, "calm_observations", json_integer((json_int_t)r->calm));
    json_object_set_new(doc, "calm_hours", json_real(r->calm_hours));
    json_object_set_new(doc, "calm_trips", json_integer((json_int_t)r->calm_trips));
    json_object_set_new(doc, "calm_trips_per_1000h",
                        json_real(per_1000h(r->calm_trips, r->calm_hours)));
    json_object_set_new(doc, "max_confidence_e6", json_integer(r->max_confidence_e6));
    json_object_set_new(doc, "events", events_json(r));
    json_t *trips = json_array();
    for (size_t i = 0; i < r->trips_kept; i++) {
        const nd_anomaly_trip_t *t = &r->trip[i];
        json_t *row = json_object();
        iso(t->ts_ns, a, sizeof a);
        json_object_set_new(row, "at", json_string(a));
        json_object_set_new(row, "confidence_e6", json_integer(t->confidence_e6));
        json_object_set_new(row, "input", json_string(t->top >= 0 ? nd_anomaly_input_name(
                                                          (nd_anomaly_input_t)t->top) : "none"));
        json_object_set_new(row, "z_e3", json_integer(t->z_e3));
        json_object_set_new(row, "calm", json_boolean(t->calm));
        json_array_append_new(trips, row);
    }
    json_object_set_new(doc, "trips_kept", trips);
    json_t *q = json_object();
    for (int k = 0; k <= ND_ANOMALY_SCORES; k++) {
        if (r->calm_scored[k] == 0)
            continue;
        json_t *row = json_array();
        for (int i = 0; i < ND_ANOMALY_QUANTILES; i++)
            json_array_append_new(row, json_real(r->quantile[k][i]));
        json_object_set_new(q, k == ND_ANOMALY_SCORES ? "evidence"
                                : nd_anomaly_input_name((nd_anomaly_input_t)k), row);
    }
    json_object_set_new(doc, "calm_z_quantiles", q);
    return doc;
}

static int run(const anomaly_opts_t *o)
{
    nd_anomaly_config_t cfg;
    nd_anomaly_config_default(&cfg);
    cfg.window_ns = o->window_days * ND_NS_PER_DAY;
    cfg.span = (uint32_t)o->span;
    cfg.warmup = (uint32_t)o->warmup;
    if (cfg.warmup < cfg.span) {
        fprintf(stderr, "noderr anomaly: --warmup %u must be at least --span %u\n", cfg.warmup,
                cfg.span);
        return ND_EXIT_USAGE;
    }
    nd_anomaly_obs_t *streams[FILES_MAX] = {0};
    size_t counts[FILES_MAX] = {0};
    char err[600];
    int rc = ND_EXIT_OK;
    for (size_t i = 0; i < o->file_count && rc == ND_EXIT_OK; i++) {
        if (nd_anomaly_obs_load(o->files[i], o->bucket_s * ND_NS_PER_SEC, &streams[i], &counts[i],
                                err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr anomaly: --data %s: %s\n", o->files[i], err);
            rc = ND_EXIT_USAGE;
        }
    }
    nd_anomaly_report_t *report = nd_calloc(1, sizeof *report);
    if (rc == ND_EXIT_OK && !report) {
        fprintf(stderr, "noderr anomaly: out of memory\n");
        rc = ND_EXIT_USAGE;
    }
    if (rc == ND_EXIT_OK &&
        nd_anomaly_scan(&cfg, (const nd_anomaly_obs_t *const *)streams, counts, o->file_count,
                        o->threshold_e6, report, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr anomaly: %s\n", err);
        rc = ND_EXIT_USAGE;
    }
    if (rc == ND_EXIT_OK) {
        if (o->json)
            rc = nd_cli_print_json_take(report_json(o, report)) == 0 ? ND_EXIT_OK : ND_EXIT_USAGE;
        else
            print_text(o, report);
    }
    nd_free(report);
    for (size_t i = 0; i < o->file_count; i++)
        nd_free(streams[i]);
    return rc;
}

int nd_cmd_anomaly(int argc, char **argv)
{
    anomaly_opts_t o = {.threshold_e6 = 800000, .bucket_s = 1, .window_days = 30, .span = 48,
                        .warmup = 96};
    int rc = nd_cli_parse("anomaly", argc, argv, options, usage_text, handle, &o);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    if (o.file_count == 0) {
        fprintf(stderr, "noderr anomaly: --data FILE is required\n");
        return ND_EXIT_USAGE;
    }
    return run(&o);
}
