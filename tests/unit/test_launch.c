/* test_launch.c: the launcher's health judgement (one verdict per module from a sample and the
 * previous one) and its "launch" config keys. */
#include <criterion/criterion.h>

#include "noderr/launch.h"

#include <stdio.h>
#include <string.h>

#define MS 1000000LL

static nd_launch_config_t cfg;

static void setup(void)
{
    nd_live_config_t lc;
    memset(&lc, 0, sizeof lc);
    snprintf(lc.path, sizeof lc.path, "t.json");
    char err[256];
    cr_assert_eq(nd_launch_config_parse(&lc, &cfg, err, sizeof err), ND_OK, "%s", err);
}

TestSuite(launch, .init = setup);

static nd_launch_sample_t healthy(int64_t now)
{
    nd_launch_sample_t s;
    memset(&s, 0, sizeof s);
    s.now_ns = now;
    s.feed_state = ND_VENUE_CONNECTED;
    s.feed_last_ns = now - 100 * MS;
    s.store_present = s.store_ok = true;
    s.store_write_ns = 2 * MS;
    s.disk_free_mb = 10000;
    s.memory_free_mb = 4000;
    s.refprice_status = s.monitoring_status = -1; /* not configured */
    return s;
}

Test(launch, defaults_are_documented_values)
{
    cr_assert_eq(cfg.health_every_ns, 10000 * MS);
    cr_assert_eq(cfg.feed_stale_ns, 5000 * MS);
    cr_assert_eq(cfg.store_write_warn_ns, 250 * MS);
    cr_assert_eq(cfg.reject_rate_warn_e4, 5000);
    cr_assert_eq(cfg.sup.backoff_min_ns, 100 * MS);
}

Test(launch, healthy_sample_all_ok)
{
    nd_launch_sample_t s = healthy(1000000 * MS);
    nd_launch_verdict_t v[ND_LAUNCH_MODULE_COUNT];
    nd_launch_health_judge(&cfg, NULL, &s, v);
    for (int m = 0; m < ND_LAUNCH_MODULE_COUNT; m++)
        cr_assert_eq(v[m].health, ND_SUP_HEALTH_OK, "%s: %s",
                     nd_launch_module_name((nd_launch_module_t)m), v[m].reason);
}

Test(launch, each_fault_names_its_module)
{
    nd_launch_verdict_t v[ND_LAUNCH_MODULE_COUNT];
    nd_launch_sample_t prev = healthy(0), s = healthy(10000 * MS);
    s.feed_last_ns = s.now_ns - 6000 * MS;
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_FEED].health, ND_SUP_HEALTH_FAIL);
    cr_assert(strstr(v[ND_LAUNCH_FEED].reason, "6000 ms"), "%s", v[ND_LAUNCH_FEED].reason);
    s = healthy(10000 * MS);
    s.feed_last_ns = s.now_ns - 3000 * MS;
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_FEED].health, ND_SUP_HEALTH_WARN, "over half the limit");
    s = healthy(10000 * MS);
    s.feed_state = ND_VENUE_DISCONNECTED;
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_FEED].health, ND_SUP_HEALTH_WARN, "connecting, not yet stale");
    s = healthy(10000 * MS);
    s.store_ok = false;
    snprintf(s.store_err, sizeof s.store_err, "disk I/O error");
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_STORE].health, ND_SUP_HEALTH_FAIL);
    cr_assert(strstr(v[ND_LAUNCH_STORE].reason, "disk I/O error"));
    s = healthy(10000 * MS);
    s.store_write_ns = 300 * MS;
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_STORE].health, ND_SUP_HEALTH_WARN);
    s = healthy(10000 * MS);
    s.halted = true;
    snprintf(s.halt_reason, sizeof s.halt_reason, "drawdown");
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_RISK].health, ND_SUP_HEALTH_WARN);
    cr_assert_str_eq(v[ND_LAUNCH_RISK].reason, "halted: drawdown");
    s = healthy(10000 * MS);
    s.disk_free_mb = 100;
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_HOST].health, ND_SUP_HEALTH_WARN);
}

Test(launch, rates_are_over_the_interval)
{
    nd_launch_verdict_t v[ND_LAUNCH_MODULE_COUNT];
    nd_launch_sample_t prev = healthy(0), s = healthy(10000 * MS);
    prev.orders_submitted = 1000;
    prev.orders_rejected = 900; /* old rejects do not count again */
    s.orders_submitted = 1020;
    s.orders_rejected = 905;
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_STRATEGIES].health, ND_SUP_HEALTH_OK, "%s",
                 v[ND_LAUNCH_STRATEGIES].reason);
    s.orders_rejected = 912; /* 12 of 20 */
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_STRATEGIES].health, ND_SUP_HEALTH_WARN);
    s.orders_submitted = 1005; /* under 10 orders: too few to judge */
    s.orders_rejected = 905;
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_STRATEGIES].health, ND_SUP_HEALTH_OK);
    s = healthy(10000 * MS);
    s.live = true;
    s.venue_errors = 3;
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_WARN);
}

Test(launch, venue_probe_offset_round_trip_and_reach)
{
    nd_launch_verdict_t v[ND_LAUNCH_MODULE_COUNT];
    nd_launch_sample_t s = healthy(10000 * MS);
    s.venue_measured = s.venue_reached = true;
    s.venue_offset_us = -1200;
    s.venue_rtt_us = 800;
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_OK, "%s", v[ND_LAUNCH_VENUE].reason);
    cr_assert(strstr(v[ND_LAUNCH_VENUE].reason, "-1200 us"), "%s", v[ND_LAUNCH_VENUE].reason);
    s.venue_offset_us = 2300000; /* + 0.4 ms of round trip: past 2.5 s, half of 5 s */
    s.venue_rtt_us = 400000;
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_WARN, "paper only warns");
    s.live = true;
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_FAIL, "live: orders would be refused");
    cr_assert(strstr(v[ND_LAUNCH_VENUE].reason, "recvWindow"), "%s", v[ND_LAUNCH_VENUE].reason);
    s.venue_offset_us = 0;
    s.venue_rtt_us = 1500000;
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_WARN, "slow: %s",
                 v[ND_LAUNCH_VENUE].reason);
    s.venue_rtt_us = 800;
    nd_launch_sample_t prev = s;
    prev.order_round_trips = 10;
    prev.order_round_trip_ns = 10 * 5 * MS;
    s.order_round_trips = 14; /* 4 more orders, 1.2 s each on average */
    s.order_round_trip_ns = prev.order_round_trip_ns + 4 * 1200 * MS;
    nd_launch_health_judge(&cfg, &prev, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_WARN);
    cr_assert_str_eq(v[ND_LAUNCH_VENUE].reason, "orders' round trip 1200 ms on average over 4");
    s.venue_reached = false;
    snprintf(s.venue_err, sizeof s.venue_err, "connection refused");
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_FAIL);
    cr_assert_str_eq(v[ND_LAUNCH_VENUE].reason, "unreachable: connection refused");
}

/* Coinbase's bound is the JWT's: a venue clock ahead of ours shortens each token's 120 s
 * life (half of it allowed), one behind ours makes nbf lie in its future (half the
 * recvWindow allowed, as for Binance). */
Test(launch, venue_probe_coinbase_clock_bound)
{
    nd_launch_verdict_t v[ND_LAUNCH_MODULE_COUNT];
    nd_launch_sample_t s = healthy(10000 * MS);
    s.live = true;
    s.venue = ND_VENUE_COINBASE;
    s.venue_measured = s.venue_reached = true;
    s.venue_rtt_us = 800;
    s.venue_offset_us = 30000000; /* 30 s ahead: past Binance's bound, inside the JWT's */
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_OK, "%s", v[ND_LAUNCH_VENUE].reason);
    s.venue_offset_us = 60000000 - 400 + 1; /* + half the round trip: just past 60 s */
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_FAIL);
    cr_assert(strstr(v[ND_LAUNCH_VENUE].reason, "coinbase clock offset +59999601 us"), "%s",
              v[ND_LAUNCH_VENUE].reason);
    cr_assert(strstr(v[ND_LAUNCH_VENUE].reason, "half the 120 s life"), "%s",
              v[ND_LAUNCH_VENUE].reason);
    s.venue_offset_us = 60000000 - 400 - 1;
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_OK, "%s", v[ND_LAUNCH_VENUE].reason);
    s.venue_offset_us = -3000000; /* ours 3 s ahead: nbf 3 s in the venue's future */
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_FAIL, "%s", v[ND_LAUNCH_VENUE].reason);
    s.venue_offset_us = -2000000;
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_VENUE].health, ND_SUP_HEALTH_OK, "%s", v[ND_LAUNCH_VENUE].reason);
}

Test(launch, probed_refprice_and_metrics_endpoint)
{
    nd_launch_verdict_t v[ND_LAUNCH_MODULE_COUNT];
    nd_launch_sample_t s = healthy(10000 * MS);
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_str_eq(v[ND_LAUNCH_REFPRICE].reason, "not configured (preflight.oracle)");
    cr_assert_str_eq(v[ND_LAUNCH_MONITORING].reason, "not configured (metrics)");
    s.refprice_status = ND_PF_FAIL;
    snprintf(s.refprice_why, sizeof s.refprice_why, "BTC/USD: answered 3700 s ago");
    s.monitoring_status = ND_PF_FAIL;
    snprintf(s.monitoring_why, sizeof s.monitoring_why, "http://127.0.0.1:1/metrics: refused");
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_REFPRICE].health, ND_SUP_HEALTH_FAIL);
    cr_assert_eq(v[ND_LAUNCH_MONITORING].health, ND_SUP_HEALTH_FAIL);
    cr_assert_str_eq(v[ND_LAUNCH_REFPRICE].reason, "BTC/USD: answered 3700 s ago");
    s.monitoring_status = ND_PF_PASS;
    snprintf(s.monitoring_why, sizeof s.monitoring_why, "serves 150 samples");
    nd_launch_health_judge(&cfg, NULL, &s, v);
    cr_assert_eq(v[ND_LAUNCH_MONITORING].health, ND_SUP_HEALTH_OK);
    cr_assert_str_eq(nd_launch_module_name(ND_LAUNCH_MONITORING), "monitoring");
}

/* ---- two venues: one venue's outage (nd_launch_venue_rule, docs/launcher.md "Two venues") -- */

Test(launch, venue_down_halt_default_and_bounds)
{
    cr_assert_eq(cfg.venue_down_halt_ns, 30000 * MS);
    nd_live_config_t lc;
    memset(&lc, 0, sizeof lc);
    snprintf(lc.path, sizeof lc.path, "t.json");
    nd_launch_config_t out;
    char err[256] = "";
    lc.root = json_pack("{s:{s:i}}", "launch", "venue_down_halt_ms", 0);
    cr_assert_eq(nd_launch_config_parse(&lc, &out, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(out.venue_down_halt_ns, 0);
    json_decref(lc.root);
    lc.root = json_pack("{s:{s:i}}", "launch", "venue_down_halt_ms", -1);
    cr_assert_eq(nd_launch_config_parse(&lc, &out, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "launch.venue_down_halt_ms") != NULL, "%s", err);
    json_decref(lc.root);
}

Test(launch, venue_rule_usable_venue_trades)
{
    char why[160];
    for (int live = 0; live < 2; live++)
        for (int pos = 0; pos < 2; pos++)
            cr_assert_eq(nd_launch_venue_rule(&cfg, live, true, true, pos, 0, why, sizeof why),
                         ND_LAUNCH_VENUE_TRADE, "%s", why);
    cr_assert_str_eq(nd_launch_venue_action_name(ND_LAUNCH_VENUE_TRADE), "trade");
}

Test(launch, venue_rule_feed_out_stops_new_orders_never_trips)
{
    char why[160];
    /* The order path still answers: the engine can flatten there, so no trip however long. */
    cr_assert_eq(nd_launch_venue_rule(&cfg, true, false, true, true, 3600000 * MS, why,
                                      sizeof why),
                 ND_LAUNCH_VENUE_STOP_NEW);
    cr_assert(strstr(why, "feed out") != NULL, "%s", why);
    cr_assert_str_eq(nd_launch_venue_action_name(ND_LAUNCH_VENUE_STOP_NEW), "stop_new_orders");
}

Test(launch, venue_rule_order_path_out_trips_only_live_with_a_position_after_the_grace)
{
    char why[160];
    int64_t grace = cfg.venue_down_halt_ns;
    /* live, a position there: stop new orders until the grace has passed, then trip */
    cr_assert_eq(nd_launch_venue_rule(&cfg, true, true, false, true, grace - 1, why, sizeof why),
                 ND_LAUNCH_VENUE_STOP_NEW);
    cr_assert(strstr(why, "kill switch if it stays out") != NULL, "%s", why);
    cr_assert_eq(nd_launch_venue_rule(&cfg, true, true, false, true, grace, why, sizeof why),
                 ND_LAUNCH_VENUE_TRIP);
    cr_assert(strstr(why, "cannot flatten") != NULL, "%s", why);
    cr_assert_eq(nd_launch_venue_rule(&cfg, true, false, false, true, grace * 10, NULL, 0),
                 ND_LAUNCH_VENUE_TRIP);
    /* flat there: nothing to flatten, never a trip */
    cr_assert_eq(nd_launch_venue_rule(&cfg, true, true, false, false, grace * 10, why, sizeof why),
                 ND_LAUNCH_VENUE_STOP_NEW);
    /* paper: its orders fill on the simulated venue, which can always flatten */
    cr_assert_eq(nd_launch_venue_rule(&cfg, false, false, false, true, grace * 10, why,
                                      sizeof why),
                 ND_LAUNCH_VENUE_STOP_NEW);
    /* 0: at once */
    nd_launch_config_t now = cfg;
    now.venue_down_halt_ns = 0;
    cr_assert_eq(nd_launch_venue_rule(&now, true, true, false, true, 0, why, sizeof why),
                 ND_LAUNCH_VENUE_TRIP);
    cr_assert_str_eq(nd_launch_venue_action_name(ND_LAUNCH_VENUE_TRIP), "trip");
}
