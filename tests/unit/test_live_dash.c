/* test_live_dash.c: the session's dashboard snapshot as figures (session_dash.c): on a rich
 * state (two instruments, two strategies, working orders, fills, the kill switch's trip and
 * halt, VaR samples, surveillance alerts with quotes and backslashes) the document formatted
 * from the figures is byte for byte the one built before the binary path (nd_live_status_json
 * plus the dashboard's part and the latency), the fill allocates nothing (neither nd_alloc nor
 * jansson), and a list cut at its bound says so in "dashboard.truncated". It includes
 * session_dash.c and session_surveil.c to reach their statics. */
#include <criterion/criterion.h>

#include "../../src/live/session_dash.c"
#include "../../src/live/session_surveil.c"
#include "live_dash_fixture.h"

#include <stdlib.h>

#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10))

/* The document as the dashboard's snapshot was built before the figures: on the engine's
 * thread, with jansson. */
static json_t *snapshot_before(nd_live_session_t *s)
{
    json_t *doc = nd_live_status_json(s);
    const nd_engine_t *e = nd_event_run_engine(s->run);
    json_object_set_new(doc, "dashboard",
                        nd_dashboard_engine_json(e, nd_event_run_instrument_count(s->run),
                                                 &s->dash_state));
    json_object_set_new(doc, "latency", nd__live_metrics_latency_json(s));
    return doc;
}

static json_t *snapshot_after(nd_live_session_t *s)
{
    dash_snap_t *d = nd_alloc(sizeof *d);
    cr_assert_not_null(d);
    memset(d, 0xA5, sizeof *d); /* the fill writes every field it formats */
    snapshot_fill(s, d);
    json_t *doc = snapshot_format(d);
    nd_free(d);
    return doc;
}

static char *dump(const json_t *doc)
{
    char *text = json_dumps(doc, DUMP_FLAGS);
    cr_assert_not_null(text);
    return text;
}

Test(live_dash, figures_give_the_same_document_as_before)
{
    dash_fixture_t f;
    char err[256] = "";
    cr_assert(fixture_open(&f, err, sizeof err), "%s", err);
    json_t *before = snapshot_before(f.s), *after = snapshot_after(f.s);
    char *a = dump(before), *b = dump(after);
    cr_assert_str_eq(b, a);
    /* The state is rich: every list has entries. */
    cr_assert_gt(json_array_size(json_object_get(before, "open_orders")), 0, "%s", a);
    cr_assert_eq(json_array_size(json_object_get(before, "positions")), 2);
    json_t *dash = json_object_get(before, "dashboard");
    cr_assert_gt(json_array_size(json_object_get(dash, "breakers")), 0, "%s", a);
    /* two strategies, each run on both instruments: four sleeves sharing one name */
    cr_assert_eq(json_array_size(json_object_get(dash, "strategies")), 4);
    cr_assert(json_is_real(json_object_get(dash, "var_95")), "%s", a);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(before, "compliance"),
                                                 "alerts")), 3);
    cr_assert(json_is_true(json_object_get(json_object_get(before, "risk"), "halted")));
    cr_assert_gt(json_integer_value(json_object_get(json_object_get(before, "orders"), "fills")),
                 0, "%s", a);
    cr_assert_null(json_object_get(dash, "truncated"));
    json_t *ref = json_object_get(json_object_get(before, "reference"), "assets");
    cr_assert_eq(json_array_size(ref), 2, "%s", a);
    cr_assert(json_is_string(json_object_get(json_array_get(ref, 0), "price")), "%s", a);
    json_t *venue = json_array_get(json_object_get(before, "venues"), 0);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(venue, "feed"), "trades")),
                 2000, "%s", a);
    free(a);
    free(b);
    json_decref(before);
    json_decref(after);
    fixture_close(&f);
}

static int64_t allocations;

static void *count_alloc(void *ctx, size_t size)
{
    (void)ctx;
    allocations++;
    return malloc(size);
}

static void *count_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    allocations++;
    return realloc(ptr, size);
}

static void count_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

static void *json_count_alloc(size_t size)
{
    allocations++;
    return malloc(size);
}

Test(live_dash, the_fill_allocates_nothing)
{
    json_set_alloc_funcs(json_count_alloc, free);
    nd_allocator_t counting = {count_alloc, count_realloc, count_free, NULL};
    nd_allocator_set(&counting);
    dash_fixture_t f;
    char err[256] = "";
    cr_assert(fixture_open(&f, err, sizeof err), "%s", err);
    dash_snap_t *d = nd_alloc(sizeof *d);
    int64_t before = allocations;
    for (int k = 0; k < 10; k++)
        snapshot_fill(f.s, d);
    cr_assert_eq(allocations, before, "the fill allocated %lld times",
                 (long long)(allocations - before));
    json_t *doc = snapshot_format(d); /* the formatting does, on the dashboard's thread */
    cr_assert_gt(allocations, before);
    json_decref(doc);
    nd_free(d);
    fixture_close(&f);
    nd_allocator_set(NULL);
}

Test(live_dash, a_cut_list_is_reported)
{
    dash_fixture_t f;
    char err[256] = "";
    cr_assert(fixture_open(&f, err, sizeof err), "%s", err);
    dash_snap_t *d = nd_alloc(sizeof *d);
    snapshot_fill(f.s, d);
    cr_assert_lt(d->order_count, ND_LIVE_DASH_ORDERS);
    d->orders_total = d->order_count + 300;     /* as if 300 more were working */
    d->dash.breakers_total = ND_BREAKER_EVENTS_MAX;
    d->dash.assets_total = ND_DASHBOARD_SNAP_ASSETS + 1;
    json_t *doc = snapshot_format(d);
    json_t *cut = json_object_get(json_object_get(doc, "dashboard"), "truncated");
    cr_assert_not_null(cut);
    cr_assert_eq(json_integer_value(json_object_get(cut, "open_orders")),
                 (json_int_t)d->order_count + 300);
    cr_assert_eq(json_integer_value(json_object_get(cut, "breakers")), ND_BREAKER_EVENTS_MAX);
    cr_assert_eq(json_integer_value(json_object_get(cut, "assets")),
                 ND_DASHBOARD_SNAP_ASSETS + 1);
    cr_assert_null(json_object_get(cut, "positions"));
    json_decref(doc);
    nd_free(d);
    fixture_close(&f);
}

/* The engine's part: more breaker trips than a snapshot carries keep the newest, and say so. */
Test(live_dash, breakers_beyond_the_bound_keep_the_newest)
{
    dash_fixture_t f;
    char err[256] = "";
    cr_assert(fixture_open(&f, err, sizeof err), "%s", err);
    nd_engine_t *e = nd_event_run_engine(f.s->run);
    nd_risk_t *r = (nd_risk_t *)nd_engine_risk(e);
    cr_assert_gt(r->event_count, 0);
    nd_breaker_event_t first = r->events[0];
    for (uint32_t k = r->event_count; k < ND_DASHBOARD_SNAP_BREAKERS + 10; k++) {
        r->events[k] = first;
        r->events[k].ts_ns = first.ts_ns + (int64_t)k;
    }
    r->event_count = ND_DASHBOARD_SNAP_BREAKERS + 10;
    nd_dashboard_figures_t *fig = nd_alloc(sizeof *fig);
    nd_dashboard_figures_fill(e, 2, &f.s->dash_state, fig);
    cr_assert_eq(fig->breaker_count, ND_DASHBOARD_SNAP_BREAKERS);
    cr_assert_eq(fig->breakers[ND_DASHBOARD_SNAP_BREAKERS - 1].ts_ns,
                 first.ts_ns + ND_DASHBOARD_SNAP_BREAKERS + 9);
    json_t *j = nd_dashboard_figures_json(fig);
    cr_assert_eq(json_array_size(json_object_get(j, "breakers")), ND_DASHBOARD_SNAP_BREAKERS);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "truncated"), "breakers")),
                 ND_DASHBOARD_SNAP_BREAKERS + 10);
    json_decref(j);
    nd_free(fig);
    fixture_close(&f);
}
