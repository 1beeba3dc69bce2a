/* test_prom.c: the metrics registry (prom.h): name and label checks, exact fixed-point values,
 * label escaping, histogram buckets rendered cumulative with le labels, _sum and _count, the
 * collect callbacks and the process metrics; `promtool check metrics` runs on the output in
 * tests/integration/69_metrics_deploy.sh. */
#include "noderr/alloc.h"
#include "noderr/prom.h"

#include <criterion/criterion.h>
#include <string.h>

static char err[256];

Test(prom, format_fixed_is_exact)
{
    char b[32];
    nd_prom_format_fixed(0, 8, b);
    cr_assert_str_eq(b, "0");
    nd_prom_format_fixed(150000000, 8, b);
    cr_assert_str_eq(b, "1.5");
    nd_prom_format_fixed(-1, 9, b);
    cr_assert_str_eq(b, "-0.000000001");
    nd_prom_format_fixed(INT64_MIN, 0, b);
    cr_assert_str_eq(b, "-9223372036854775808");
    nd_prom_format_fixed(INT64_MAX, 18, b);
    cr_assert_str_eq(b, "9.223372036854775807");
    nd_prom_format_fixed(1234500, 2, b);
    cr_assert_str_eq(b, "12345");
}

Test(prom, names_are_checked)
{
    nd_prom_t *p;
    cr_assert_eq(nd_prom_create(&p), ND_OK);
    nd_prom_family_t *f;
    const char *bad_label[] = {"le", NULL};
    cr_assert_eq(nd_prom_family(p, ND_PROM_COUNTER, "nd_orders", "x", 0, NULL, NULL, 0, &f, err,
                                sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "_total") != NULL, "%s", err);
    cr_assert_eq(nd_prom_family(p, ND_PROM_GAUGE, "9bad", "x", 0, NULL, NULL, 0, &f, err,
                                sizeof err), ND_EINVAL);
    cr_assert_eq(nd_prom_family(p, ND_PROM_GAUGE, "nd_x", "x", 0, bad_label, NULL, 0, &f, err,
                                sizeof err), ND_EINVAL);
    int64_t desc[] = {5, 3};
    cr_assert_eq(nd_prom_family(p, ND_PROM_HISTOGRAM, "nd_h_seconds", "x", 9, NULL, desc, 2, &f,
                                err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_prom_family(p, ND_PROM_GAUGE, "nd_x", "x", 0, NULL, NULL, 0, &f, err,
                                sizeof err), ND_OK);
    cr_assert_eq(nd_prom_family(p, ND_PROM_GAUGE, "nd_x", "x", 0, NULL, NULL, 0, &f, err,
                                sizeof err), ND_EEXIST);
    nd_prom_cell_t *c;
    cr_assert_eq(nd_prom_series(f, NULL, &c), ND_OK);
    cr_assert_eq(nd_prom_series(f, NULL, &c), ND_EEXIST);
    nd_prom_destroy(p);
}

static int collected;
static void collect(void *ctx)
{
    nd_prom_set(ctx, 42);
    collected++;
}

Test(prom, renders_the_exposition_format)
{
    nd_prom_t *p;
    cr_assert_eq(nd_prom_create(&p), ND_OK);
    nd_prom_family_t *orders, *equity, *lat;
    const char *reason[] = {"reason", NULL};
    const char *strat[] = {"strategy", "venue", NULL};
    cr_assert_eq(nd_prom_family(p, ND_PROM_COUNTER, "nd_rejects_total", "Rejected orders.", 0,
                                reason, NULL, 0, &orders, err, sizeof err), ND_OK);
    cr_assert_eq(nd_prom_family(p, ND_PROM_GAUGE, "nd_equity_usd", "Equity\nin USD.", 8, strat,
                                NULL, 0, &equity, err, sizeof err), ND_OK);
    int64_t bounds[] = {1000, 1000000, 1000000000};
    cr_assert_eq(nd_prom_family(p, ND_PROM_HISTOGRAM, "nd_latency_seconds", "Latency.", 9, NULL,
                                bounds, 3, &lat, err, sizeof err), ND_OK);
    nd_prom_cell_t *r1, *e1, *e2;
    cr_assert_eq(nd_prom_series(orders, (const char *[]){"HALTED"}, &r1), ND_OK);
    cr_assert_eq(nd_prom_series(equity, (const char *[]){"a\"b\\c\nd", "xsim"}, &e1), ND_OK);
    cr_assert_eq(nd_prom_series(equity, (const char *[]){"sma", "xsim"}, &e2), ND_OK);
    nd_prom_hist_t *h;
    cr_assert_eq(nd_prom_hist_series(lat, NULL, &h), ND_OK);
    cr_assert_eq(nd_prom_on_collect(p, collect, e2), ND_OK);
    nd_prom_add(r1, 3);
    nd_prom_set(e1, -123456789);
    nd_prom_observe(h, 500);
    nd_prom_observe(h, 1000);
    nd_prom_observe(h, 2000);
    nd_prom_observe(h, 5000000000);
    char *text;
    size_t len;
    cr_assert_eq(nd_prom_render(p, &text, &len), ND_OK);
    cr_assert_eq(strlen(text), len);
    const char *want =
        "# HELP nd_rejects_total Rejected orders.\n# TYPE nd_rejects_total counter\n"
        "nd_rejects_total{reason=\"HALTED\"} 3\n"
        "# HELP nd_equity_usd Equity in USD.\n# TYPE nd_equity_usd gauge\n"
        "nd_equity_usd{strategy=\"a\\\"b\\\\c\\nd\",venue=\"xsim\"} -1.23456789\n"
        "nd_equity_usd{strategy=\"sma\",venue=\"xsim\"} 0.00000042\n"
        "# HELP nd_latency_seconds Latency.\n# TYPE nd_latency_seconds histogram\n"
        "nd_latency_seconds_bucket{le=\"0.000001\"} 2\n"
        "nd_latency_seconds_bucket{le=\"0.001\"} 3\n"
        "nd_latency_seconds_bucket{le=\"1\"} 3\n"
        "nd_latency_seconds_bucket{le=\"+Inf\"} 4\n"
        "nd_latency_seconds_sum 5.0000035\n"
        "nd_latency_seconds_count 4\n";
    cr_assert_str_eq(text, want);
    cr_assert_eq(collected, 1);
    cr_assert_eq(nd_prom_series_count(p), 3 + 6);
    nd_free(text);
    nd_prom_destroy(p);
}

Test(prom, histogram_labels_join_le)
{
    nd_prom_t *p;
    cr_assert_eq(nd_prom_create(&p), ND_OK);
    nd_prom_family_t *f;
    int64_t bounds[] = {10};
    cr_assert_eq(nd_prom_family(p, ND_PROM_HISTOGRAM, "nd_x_seconds", "x", 0,
                                (const char *[]){"venue", NULL}, bounds, 1, &f, err, sizeof err),
                 ND_OK);
    nd_prom_hist_t *h;
    cr_assert_eq(nd_prom_hist_series(f, (const char *[]){"xsim"}, &h), ND_OK);
    nd_prom_observe(h, 10);
    char *text;
    size_t len;
    cr_assert_eq(nd_prom_render(p, &text, &len), ND_OK);
    cr_assert(strstr(text, "nd_x_seconds_bucket{venue=\"xsim\",le=\"10\"} 1\n") != NULL, "%s", text);
    cr_assert(strstr(text, "nd_x_seconds_count{venue=\"xsim\"} 1\n") != NULL, "%s", text);
    nd_free(text);
    nd_prom_destroy(p);
}

Test(prom, parse_accepts_the_render_and_names_bad_lines)
{
    size_t n = 0;
    const char *good = "# HELP a_total x\n# TYPE a_total counter\na_total{x=\"a\\\"b\"} 3\n"
                       "b 1.5e3 1700000000\nc{le=\"+Inf\"} +Inf\n# free comment\n\n";
    cr_assert_eq(nd_prom_parse(good, strlen(good), &n, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(n, 3);
    static const struct { const char *text, *want; } bad[] = {
        {"a 1", "line 1: no newline"},
        {"a\n", "no space before the value"},
        {"a x\n", "not a number"},
        {"a{b=1} 1\n", "without =\"value\""},
        {"a{b=\"1} 1\n", "unterminated"},
        {"# TYPE a counters\n", "unknown TYPE"},
        {"a 1\n9 2\n", "line 2: a sample line must start"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cr_assert_eq(nd_prom_parse(bad[k].text, strlen(bad[k].text), &n, err, sizeof err),
                     ND_EPARSE, "%s", bad[k].text);
        cr_assert(strstr(err, bad[k].want) != NULL, "%s -> %s", bad[k].text, err);
    }
    /* What the registry renders parses back. */
    nd_prom_t *p;
    cr_assert_eq(nd_prom_create(&p), ND_OK);
    cr_assert_eq(nd_prom_process_metrics(p, 1700000000123456789LL, err, sizeof err), ND_OK);
    char *text;
    size_t len;
    cr_assert_eq(nd_prom_render(p, &text, &len), ND_OK);
    cr_assert_eq(nd_prom_parse(text, len, &n, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(n, 6);
    cr_assert(strstr(text, "process_start_time_seconds 1700000000.123456789\n") != NULL, "%s", text);
    nd_free(text);
    nd_prom_destroy(p);
}

/* Quantiles from a histogram, interpolated in the bucket that holds them. */
Test(prom, histogram_quantile_interpolates_in_its_bucket)
{
    static const int64_t bounds[] = {10, 20, 30};
    nd_prom_hist_t h;
    memset(&h, 0, sizeof h);
    h.bounds = bounds;
    h.bound_count = 3;
    cr_assert_eq(nd_prom_hist_quantile(&h, 500000), 0, "nothing seen");
    for (int k = 0; k < 4; k++)
        nd_prom_observe(&h, 5);
    for (int k = 0; k < 6; k++)
        nd_prom_observe(&h, 15);
    cr_assert_eq(nd_prom_hist_quantile(&h, 500000), 11, "rank 5: 1/6 into (10, 20]");
    cr_assert_eq(nd_prom_hist_quantile(&h, 990000), 19, "rank 9.9: 5.9/6 into (10, 20]");
    cr_assert_eq(nd_prom_hist_quantile(&h, 400000), 10, "rank 4: the top of the first bucket");
    for (int k = 0; k < 90; k++)
        nd_prom_observe(&h, 1000); /* +Inf */
    cr_assert_eq(nd_prom_hist_quantile(&h, 990000), 30, "in +Inf: the top finite bound");
}
