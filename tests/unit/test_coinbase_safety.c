/* test_coinbase_safety.c: the Coinbase adapter with the user channel as its primary source and
 * polling as the safety net (cb_exec.c, user_channel; docs/live.md "The user channel"), against
 * exchange-sim --venue coinbase on 127.0.0.1 with its user channel read by the project's client
 * (heartbeats on the same connection) and exchange-sim's user_drop fault:
 *  - with nothing lost, no periodic poll runs (a resting order costs no sync for seconds);
 *  - a user update dropped with its sequence_num spent is a gap at the next heartbeat: the
 *    client resubscribes, the adapter syncs (asked by nd_coinbase_exec_resync, as the session
 *    does) and books the fill within 3 s;
 *  - a market order whose every report is lost without a gap: its report is overdue
 *    report_timeout after the create's answer and the sync books its fill within 1.5 s;
 *  - a resting order's fill lost without a gap (its OPEN report came): the slow sweep books it
 *    within a sweep interval and a sync. */
#include "../../src/xsim/xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/coinbase.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cb_sim_fixture.h"

#define ADMIN_TOKEN "t-0123456789abcdef"

typedef struct rig {
    sim_t s;
    nd_clock_t *clock;
    nd_journal_t *journal;
    nd_recon_local_t *local;
    nd_coinbase_rest_t *rest;
    nd_coinbase_exec_t *x;
    nd_exec_venue_t v;
    nd_coinbase_stream_t *st;
    nd_http_t *http;
    nd_coinbase_product_rules_t rules;
    uint32_t resyncs_seen;
    char path[96];
    bool accepted, filled;
    int64_t filled_qty;
} rig_t;

static const nd_recon_instrument_t assets = {.base = "BTC", .quote = "USD"};

static void fold(void *ctx, const nd_journal_rec_t *rec)
{
    rig_t *r = ctx;
    cr_assert_eq(nd_recon_local_fold(r->local, rec, &assets, 1), ND_OK);
}

static void on_user(void *ctx, const nd_md_event_t *ev)
{
    rig_t *r = ctx;
    if (ev->kind == ND_MD_ORDER_UPDATE)
        nd_coinbase_exec_on_order(r->x, ev);
}

#define LATE_CLID "ndcbs-1-0-7"

/* late: the journal holds an intent of an earlier run (1) that never got an answer. */
static void rig_open_with(rig_t *r, int64_t report_timeout_ns, int64_t sweep_ns, bool late)
{
    char err[256] = "", ws_url[64];
    memset(r, 0, sizeof *r);
    r->clock = nd_clock_os();
    make_keys();
    sim_start(&r->s, r->clock, 0);
    snprintf(r->path, sizeof r->path, "/tmp/nd_cbsafety_%d_%lld.bin", (int)getpid(),
             (long long)nd_clock_mono_ns(r->clock));
    unlink(r->path);
    r->local = nd_calloc(1, sizeof *r->local);
    cr_assert_eq(nd_journal_open(r->path, fold, r, &r->journal, err, sizeof err), ND_OK, "%s", err);
    nd_journal_rec_t run = {.kind = ND_JOURNAL_RUN, .run = 1};
    snprintf(run.tag, sizeof run.tag, "cbs");
    cr_assert_eq(nd_journal_append(r->journal, &run, err, sizeof err), ND_OK);
    if (late) {
        nd_journal_rec_t in = {.kind = ND_JOURNAL_NEW};
        in.order = (nd_recon_order_t){.side = ND_SIDE_BUY, .type = ND_ORDER_LIMIT,
                                      .px = 20000 * E8, .qty = 100000};
        snprintf(in.order.clid, sizeof in.order.clid, LATE_CLID);
        run.run = 2;
        cr_assert_eq(nd_journal_append(r->journal, &in, err, sizeof err), ND_OK);
        cr_assert_eq(nd_journal_append(r->journal, &run, err, sizeof err), ND_OK);
        fold(r, &in); /* as a replay would */
    }
    cr_assert_eq(nd_coinbase_rest_create(r->s.rest_url, KEY_NAME, priv_pem, r->clock, 5000,
                                         &r->rest, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_coinbase_public_product(r->s.rest_url, "BTC-USD", 5000, &r->rules, err,
                                            sizeof err), ND_OK, "%s", err);
    nd_coinbase_exec_config_t cfg = {.rest = r->rest, .journal = r->journal, .local = r->local,
                                     .clock = r->clock, .product_id = "BTC-USD", .assets = assets,
                                     .rules = r->rules, .tag = "cbs", .run = late ? 2 : 1,
                                     .user_channel = true, .report_timeout_ns = report_timeout_ns,
                                     .sweep_interval_ns = sweep_ns};
    cr_assert_eq(nd_coinbase_exec_create(&cfg, &r->x, err, sizeof err), ND_OK, "%s", err);
    nd_recon_policy_t policy;
    nd_recon_policy_default(&policy);
    nd_recon_diff_t diffs[8];
    size_t n = 0;
    bool halt = false;
    cr_assert_eq(nd_coinbase_exec_recover(r->x, &policy, true, diffs, 8, &n, &halt, err,
                                          sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_coinbase_exec_start(r->x), ND_OK);
    r->v = nd_coinbase_exec_venue(r->x);
    snprintf(ws_url, sizeof ws_url, "ws://%s/", r->s.rest_url + strlen("http://"));
    const char *products[] = {"BTC-USD"};
    const char *chans[] = {"user"};
    nd_coinbase_stream_config_t sc = {.url = ws_url, .product_ids = products, .product_count = 1,
                                      .channels = chans, .channel_count = 1,
                                      .key_name = KEY_NAME, .private_key_pem = priv_pem,
                                      .backoff_min_ns = 100 * ND_NS_PER_MS,
                                      .stale_after_ns = 5 * ND_NS_PER_SEC};
    cr_assert_eq(nd_coinbase_stream_create(ND_VENUE_COINBASE, &sc, r->clock, on_user, r, &r->st,
                                           err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_http_create(5000, &r->http), ND_OK);
}

static void rig_open(rig_t *r, int64_t report_timeout_ns, int64_t sweep_ns)
{
    rig_open_with(r, report_timeout_ns, sweep_ns, false);
}

static void rig_close(rig_t *r)
{
    nd_coinbase_stream_destroy(r->st);
    nd_http_destroy(r->http);
    nd_coinbase_exec_destroy(r->x);
    nd_journal_close(r->journal);
    nd_coinbase_rest_destroy(r->rest);
    nd_free(r->local);
    sim_stop(&r->s);
    unlink(r->path);
}

/* The session's loop in small: the channel served (a new subscription after the first asks the
 * adapter for a sync, as nd__live_user_tick does), the adapter polled, order 1's updates kept. */
static void pump(rig_t *r, int ms)
{
    int64_t until = nd_clock_mono_ns(r->clock) + ms * ND_NS_PER_MS;
    while (nd_clock_mono_ns(r->clock) < until) {
        nd_coinbase_stream_service(r->st, 2);
        uint32_t subs = nd_coinbase_stream_resyncs(r->st);
        if (subs > 1 && subs > r->resyncs_seen)
            nd_coinbase_exec_resync(r->x);
        if (subs > r->resyncs_seen)
            r->resyncs_seen = subs;
        nd_order_update_t u[32];
        size_t n = 0;
        cr_assert_eq(r->v.ops->poll(r->v.self, nd_clock_now_ns(r->clock), u, 32, &n), ND_OK);
        for (size_t i = 0; i < n; i++) {
            r->accepted = r->accepted || u[i].kind == ND_UPDATE_ACCEPTED;
            if (u[i].kind == ND_UPDATE_FILL)
                r->filled_qty += u[i].fill.qty;
        }
    }
}

/* Pumps until order 1 filled its qty or ms pass; returns the milliseconds it took (-1: never). */
static int64_t until_filled(rig_t *r, int64_t qty, int ms)
{
    int64_t t0 = nd_clock_mono_ns(r->clock);
    while (r->filled_qty < qty && nd_clock_mono_ns(r->clock) - t0 < ms * ND_NS_PER_MS)
        pump(r, 5);
    return r->filled_qty >= qty ? (nd_clock_mono_ns(r->clock) - t0) / ND_NS_PER_MS : -1;
}

static void fault(rig_t *r, const char *body)
{
    char url[128], err[256] = "";
    snprintf(url, sizeof url, "%s/admin/fault", r->s.rest_url);
    const char *headers[] = {"Authorization: Bearer " ADMIN_TOKEN,
                             "Content-Type: application/json", NULL};
    nd_http_response_t res;
    memset(&res, 0, sizeof res);
    cr_assert_eq(nd_http_request(r->http, "POST", url, headers, body, &res, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(res.status, 200, "%s: %s", body, res.body);
    nd_http_response_free(&res);
}

/* The product's mid, on the tick. */
static int64_t mid(rig_t *r)
{
    char url[128], err[256] = "";
    snprintf(url, sizeof url, "%s/api/v3/brokerage/market/products/BTC-USD", r->s.rest_url);
    nd_http_response_t res;
    memset(&res, 0, sizeof res);
    cr_assert_eq(nd_http_request(r->http, "GET", url, NULL, NULL, &res, err, sizeof err), ND_OK);
    json_t *doc = json_loadb(res.body, res.body_len, 0, NULL);
    const char *p = json_string_value(json_object_get(doc, "price"));
    int64_t px = 0;
    cr_assert(p && nd_venue_decimal(p, strlen(p), 8, &px) == ND_OK && px > 0);
    json_decref(doc);
    nd_http_response_free(&res);
    return px;
}

/* Order 1: a buy of qty, a limit half a percent under the mid (market when px_off < 0). */
static void buy(rig_t *r, bool market, int64_t qty)
{
    int64_t m = mid(r), tick = r->rules.quote_increment;
    nd_order_t o = {.client_id = 1, .side = ND_SIDE_BUY,
                    .type = market ? ND_ORDER_MARKET : ND_ORDER_LIMIT,
                    .px = market ? 0 : (m - m / 200) / tick * tick, .qty = qty,
                    .status = ND_ORDER_NEW};
    cr_assert_eq(r->v.ops->submit(r->v.self, &o, nd_clock_now_ns(r->clock)), ND_OK);
}

Test(coinbase_safety, with_the_channel_a_resting_order_costs_no_periodic_poll, .timeout = 60)
{
    rig_t r;
    rig_open(&r, 2 * ND_NS_PER_SEC, 15 * ND_NS_PER_SEC);
    pump(&r, 300); /* subscribed */
    nd_coinbase_exec_stats_t st;
    nd_coinbase_exec_stats(r.x, &st);
    uint64_t syncs0 = st.syncs; /* the start's */
    buy(&r, false, 100000);
    pump(&r, 3000);
    nd_coinbase_exec_stats(r.x, &st);
    cr_assert(r.accepted);
    cr_assert_gt(st.stream_events, 0u, "the OPEN report came on the channel");
    /* polling every 500 ms would be 6 syncs in these 3 s; the sweep is 15 s away */
    cr_assert_eq(st.syncs, syncs0, "syncs %llu", (unsigned long long)(st.syncs - syncs0));
    cr_assert_eq(st.overdue_syncs, 0u);
    rig_close(&r);
}

Test(coinbase_safety, a_lost_update_is_a_gap_at_the_next_heartbeat_and_its_fill_is_booked,
     .timeout = 60)
{
    rig_t r;
    rig_open(&r, 30 * ND_NS_PER_SEC, 60 * ND_NS_PER_SEC); /* only the gap can catch it */
    pump(&r, 300);
    buy(&r, false, 100000);
    pump(&r, 500);
    cr_assert(r.accepted);
    fault(&r, "{\"fault\":\"user_drop\",\"count\":1000}");
    fault(&r, "{\"fault\":\"crash\",\"pct\":-5,\"ms\":300}");
    int64_t ms = until_filled(&r, 100000, 6000);
    nd_coinbase_exec_stats_t st;
    nd_coinbase_exec_stats(r.x, &st);
    cr_assert_geq(ms, 0, "the fill was never booked");
    cr_assert_leq(ms, 3000, "booked %lld ms after the crash", (long long)ms);
    cr_log_info("gap: fill booked %lld ms after the crash", (long long)ms);
    cr_assert_geq(st.reconciliations, 1u, "the resubscription's sync");
    cr_assert_eq(st.overdue_syncs + st.sweeps, 0u);
    rig_close(&r);
}

Test(coinbase_safety, a_market_order_whose_reports_are_all_lost_is_caught_as_overdue,
     .timeout = 60)
{
    rig_t r;
    rig_open(&r, 300 * ND_NS_PER_MS, 60 * ND_NS_PER_SEC);
    pump(&r, 300);
    fault(&r, "{\"fault\":\"user_drop\",\"count\":1000,\"gap\":false}");
    int64_t t0 = nd_clock_mono_ns(r.clock);
    buy(&r, true, 100000);
    int64_t ms = until_filled(&r, 100000, 5000);
    nd_coinbase_exec_stats_t st;
    nd_coinbase_exec_stats(r.x, &st);
    cr_assert_geq(ms, 0, "the fill was never booked");
    cr_assert_leq((nd_clock_mono_ns(r.clock) - t0) / ND_NS_PER_MS, 1500, "booked after %lld ms",
                  (long long)ms);
    cr_log_info("overdue: fill booked %lld ms after the create", (long long)ms);
    cr_assert_geq(st.overdue_syncs, 1u);
    cr_assert_eq(st.stream_events, 0u, "nothing came on the channel");
    rig_close(&r);
}

Test(coinbase_safety, a_resting_fill_lost_without_a_gap_is_caught_by_the_sweep, .timeout = 60)
{
    rig_t r;
    rig_open(&r, 30 * ND_NS_PER_SEC, 1 * ND_NS_PER_SEC);
    pump(&r, 300);
    buy(&r, false, 100000);
    pump(&r, 500);
    cr_assert(r.accepted);
    fault(&r, "{\"fault\":\"user_drop\",\"count\":1000,\"gap\":false}");
    fault(&r, "{\"fault\":\"crash\",\"pct\":-5,\"ms\":300}");
    int64_t ms = until_filled(&r, 100000, 6000);
    nd_coinbase_exec_stats_t st;
    nd_coinbase_exec_stats(r.x, &st);
    cr_assert_geq(ms, 0, "the fill was never booked");
    cr_assert_leq(ms, 2500, "booked %lld ms after the crash (sweep 1 s)", (long long)ms);
    cr_log_info("sweep: fill booked %lld ms after the crash", (long long)ms);
    cr_assert_geq(st.sweeps, 1u);
    cr_assert_eq(st.overdue_syncs, 0u);
    rig_close(&r);
}

Test(coinbase_safety, a_create_that_arrives_after_the_restart_dropped_it_is_followed_and_cancelled,
     .timeout = 60)
{
    rig_t r;
    rig_open_with(&r, 2 * ND_NS_PER_SEC, 60 * ND_NS_PER_SEC, true);
    const nd_recon_order_t *lo = nd_recon_find(r.local, LATE_CLID);
    cr_assert_not_null(lo);
    cr_assert_eq(lo->status, ND_RECON_DROPPED, "the start concluded it never left (%s)",
                 nd_recon_status_name(lo->status));
    pump(&r, 300);
    /* the dead run's request reaches the venue now */
    nd_coinbase_order_req_t req = {.client_order_id = LATE_CLID, .product_id = "BTC-USD",
                                   .buy = true, .base_size = "0.001", .limit_price = "20000.00"};
    nd_coinbase_order_result_t res;
    char err[256] = "";
    nd_coinbase_rest_t *other = NULL;
    cr_assert_eq(nd_coinbase_rest_create(r.s.rest_url, KEY_NAME, priv_pem, r.clock, 5000, &other,
                                         err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_coinbase_create_order(other, &req, &res, err, sizeof err), ND_OK, "%s", err);
    cr_assert(res.success);
    nd_coinbase_rest_destroy(other);
    for (int i = 0; i < 300 && lo->status != ND_RECON_CANCELLED; i++)
        pump(&r, 10);
    nd_coinbase_exec_stats_t st;
    nd_coinbase_exec_stats(r.x, &st);
    cr_assert_eq(st.late_creates, 1u);
    cr_assert_eq(lo->status, ND_RECON_CANCELLED, "followed again and cancelled (%s)",
                 nd_recon_status_name(lo->status));
    cr_assert_neq(lo->venue_id, 0);
    rig_close(&r);
}
