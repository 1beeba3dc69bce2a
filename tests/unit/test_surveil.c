/* test_surveil.c: hand-built event streams that must, and must not, raise each surveillance
 * alert (nd_surv_scan), plus jurisdiction parsing and tagging. Expected values are worked out
 * by hand from the profile thresholds in src/compliance/jurisdiction.c. */
#include <criterion/criterion.h>

#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/surveillance.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

#define EV_MAX 4096

static nd_surv_dict_t *dict;
static nd_surv_event_t evs[EV_MAX];
static size_t nev;
static nd_surv_alerts_t alerts;

static void setup(void)
{
    cr_assert_eq(nd_surv_dict_create(&dict), ND_OK);
    nev = 0;
    nd_surv_alerts_init(&alerts);
}

static void teardown(void)
{
    nd_surv_alerts_deinit(&alerts);
    nd_surv_dict_destroy(dict);
}

static uint32_t id(const char *s)
{
    uint32_t v = 0;
    cr_assert_eq(nd_surv_dict_intern(dict, s, strlen(s), &v), ND_OK);
    return v;
}

static int64_t ts(const char *iso)
{
    int64_t ns = 0;
    cr_assert_eq(nd_time_parse_iso(iso, &ns), ND_OK, "bad time %s", iso);
    return ns;
}

static int64_t dec(const char *s)
{
    int64_t v = 0;
    if (*s)
        cr_assert_eq(nd_fixed_parse(s, strlen(s), ND_SURV_DECIMALS, &v), ND_OK);
    return v;
}

/* Adds one event: time, account, owner, symbol, side (b/s), kind (n/c/f), order, price, qty. */
static void add_ns(int64_t t, const char *acct, const char *owner, const char *sym, char side,
                   char kind, const char *order, const char *px, const char *qty)
{
    cr_assert_lt(nev, EV_MAX);
    nd_surv_event_t *e = &evs[nev++];
    memset(e, 0, sizeof *e);
    e->ts_ns = t;
    e->account = id(acct);
    e->owner = id(owner);
    e->strategy = id("strat");
    e->venue = id("venue");
    e->symbol = id(sym);
    e->order = id(order);
    e->side = side == 'b' ? ND_SIDE_BUY : ND_SIDE_SELL;
    e->kind = kind == 'n' ? ND_SURV_NEW : kind == 'c' ? ND_SURV_CANCEL : ND_SURV_FILL;
    e->px = dec(px);
    e->qty = dec(qty);
}

static void add(const char *iso, const char *acct, const char *owner, const char *sym, char side,
                char kind, const char *order, const char *px, const char *qty)
{
    add_ns(ts(iso), acct, owner, sym, side, kind, order, px, qty);
}

static size_t scan_with(const nd_surv_profile_t *p, const nd_surv_options_t *opt)
{
    const nd_surv_profile_t *ps[1] = {p};
    char err[256];
    alerts.count = 0;
    cr_assert_eq(nd_surv_scan(evs, nev, ps, 1, opt, &alerts, err, sizeof err), ND_OK, "%s", err);
    return alerts.count;
}

static size_t scan_us(void)
{
    return scan_with(nd_jurisdiction_profile(ND_JUR_US), NULL);
}

static size_t count_rule(nd_surv_rule_t r)
{
    size_t n = 0;
    for (size_t i = 0; i < alerts.count; i++)
        n += alerts.items[i].rule == r;
    return n;
}

static const char *name(uint32_t v)
{
    return nd_surv_dict_name(dict, v);
}

TestSuite(surveil, .init = setup, .fini = teardown);

Test(surveil, wash_trade_across_accounts_of_one_owner)
{
    add("2024-01-02T15:00:00Z", "A1", "O1", "AAPL", 'b', 'f', "w1", "185.10", "100");
    add("2024-01-02T15:00:30Z", "A2", "O1", "AAPL", 's', 'f', "w2", "185.12", "100");
    cr_assert_eq(scan_us(), 1);
    const nd_surv_alert_t *a = &alerts.items[0];
    cr_assert_eq(a->rule, ND_SURV_WASH_TRADING);
    cr_assert_eq(a->jurisdiction, ND_JUR_US);
    cr_assert_str_eq(name(a->owner), "O1");
    cr_assert_eq(a->account_count, 2);
    cr_assert_str_eq(name(a->accounts[0]), "A1");
    cr_assert_str_eq(name(a->accounts[1]), "A2");
    cr_assert_eq(a->order_count, 2);
    cr_assert_str_eq(name(a->orders[0]), "w1");
    cr_assert_eq(a->fill_count, 2);
    cr_assert_eq(a->fills[0], 0);
    cr_assert_eq(a->fills[1], 1);
    cr_assert_eq(a->from_ns, ts("2024-01-02T15:00:00Z"));
    cr_assert_eq(a->to_ns, ts("2024-01-02T15:00:30Z"));
    cr_assert(strstr(a->reason, "0 direct self-match") != NULL, "%s", a->reason);
}

Test(surveil, legitimate_round_trip_outside_the_window)
{
    /* 60 s window: 60.001 s later is outside; 185.10 -> 185.30 is also 10.8 bps away. */
    add("2024-01-02T15:00:00Z", "A1", "O1", "AAPL", 'b', 'f', "r1", "185.10", "100");
    add("2024-01-02T15:01:00.001Z", "A1", "O1", "AAPL", 's', 'f', "r2", "185.10", "100");
    add("2024-01-02T15:20:00Z", "A1", "O1", "AAPL", 'b', 'f', "r3", "185.10", "100");
    add("2024-01-02T15:20:10Z", "A1", "O1", "AAPL", 's', 'f', "r4", "185.30", "100");
    cr_assert_eq(scan_us(), 0);
}

Test(surveil, wash_window_edge_is_inclusive)
{
    add("2024-01-02T15:00:00Z", "A1", "O1", "AAPL", 'b', 'f', "e1", "100", "1");
    add("2024-01-02T15:01:00Z", "A2", "O1", "AAPL", 's', 'f', "e2", "100.10", "1");
    cr_assert_eq(scan_us(), 1); /* exactly 60 s and exactly 10 bps */
}

Test(surveil, different_owners_trading_with_each_other_is_not_wash)
{
    add("2024-01-02T15:00:00Z", "A1", "O1", "AAPL", 'b', 'f', "x1", "100", "1");
    add("2024-01-02T15:00:00Z", "B1", "O2", "AAPL", 's', 'f', "x2", "100", "1");
    cr_assert_eq(scan_us(), 0);
}

Test(surveil, direct_self_match_is_named)
{
    add("2024-01-02T16:00:00Z", "C1", "O3", "MSFT", 'b', 'f', "s1", "370", "50");
    add("2024-01-02T16:00:00Z", "C2", "O3", "MSFT", 's', 'f', "s2", "370", "50");
    cr_assert_eq(scan_us(), 1);
    cr_assert(strstr(alerts.items[0].reason, "1 direct self-match") != NULL);
    cr_assert_eq(alerts.items[0].from_ns, alerts.items[0].to_ns);
}

Test(surveil, consecutive_wash_pairs_merge_into_one_case)
{
    for (int i = 0; i < 10; i++) {
        char o[16];
        snprintf(o, sizeof o, "m%d", i);
        add_ns(ts("2024-01-02T10:00:00Z") + i * 10 * ND_NS_PER_SEC, i % 2 ? "A2" : "A1", "O1",
               "AAPL", i % 2 ? 's' : 'b', 'f', o, "50", "1");
    }
    cr_assert_eq(scan_us(), 1);
    cr_assert_eq(alerts.items[0].measured, 9); /* every fill after the first pairs */
    cr_assert_eq(alerts.items[0].order_count, 10);
}

/* Three buy orders on three levels, a sell execution, then cancels `cancel_after` later. */
static void layering_stream(const char *owner, const char *p1, const char *p2, const char *p3,
                            int64_t cancel_after_ns)
{
    int64_t t0 = ts("2024-03-05T14:00:00Z");
    add_ns(t0, "L1", owner, "XYZ", 'b', 'n', "l1", p1, "500");
    add_ns(t0 + 1, "L1", owner, "XYZ", 'b', 'n', "l2", p2, "500");
    add_ns(t0 + 2, "L2", owner, "XYZ", 'b', 'n', "l3", p3, "500");
    add_ns(t0 + ND_NS_PER_SEC, "L1", owner, "XYZ", 's', 'n', "l4", "10", "100");
    int64_t tf = t0 + 2 * ND_NS_PER_SEC;
    add_ns(tf, "L1", owner, "XYZ", 's', 'f', "l4", "10", "100");
    add_ns(tf + cancel_after_ns, "L1", owner, "XYZ", 'b', 'c', "l1", "", "");
    add_ns(tf + cancel_after_ns, "L1", owner, "XYZ", 'b', 'c', "l2", "", "");
    add_ns(tf + cancel_after_ns, "L2", owner, "XYZ", 'b', 'c', "l3", "", "");
}

Test(surveil, layering_pattern_raises_an_alert)
{
    layering_stream("SPOOF", "9.97", "9.98", "9.99", 500 * ND_NS_PER_MS);
    cr_assert_eq(scan_us(), 1);
    const nd_surv_alert_t *a = &alerts.items[0];
    cr_assert_eq(a->rule, ND_SURV_LAYERING);
    cr_assert_eq(a->measured, 3);
    cr_assert_eq(a->order_count, 4); /* three cancelled orders and the executed one */
    cr_assert_eq(a->account_count, 2);
    cr_assert_eq(a->from_ns, ts("2024-03-05T14:00:00Z"));
    cr_assert_eq(a->to_ns, ts("2024-03-05T14:00:02.500Z"));
    cr_assert_eq(a->fill_count, 1);
    cr_assert_eq(a->fills[0], 4);
}

Test(surveil, honest_quoting_cancelled_later_is_not_layering)
{
    layering_stream("MM", "9.97", "9.98", "9.99", 5 * ND_NS_PER_SEC + 1); /* just past 5 s */
    cr_assert_eq(scan_us(), 0);
}

Test(surveil, orders_at_one_price_level_are_not_layering)
{
    layering_stream("MM", "9.99", "9.99", "9.98", 100 * ND_NS_PER_MS); /* two levels only */
    cr_assert_eq(scan_us(), 0);
}

Test(surveil, orders_that_filled_are_not_layered)
{
    layering_stream("MM", "9.97", "9.98", "9.99", 100 * ND_NS_PER_MS);
    add("2024-03-05T14:00:01.500Z", "L1", "MM", "XYZ", 'b', 'f', "l1", "9.97", "100");
    /* l1 filled (partly), so only l2 and l3 count: below three orders. The buy fill at 9.97
     * and the sell at 10 are 30 bps apart, beyond the 10 bps wash tolerance. */
    cr_assert_eq(scan_us(), 0);
}

static void day_trade(const char *acct, const char *day, int n)
{
    char t1[40], t2[40], ob[48], os[48];
    snprintf(t1, sizeof t1, "%sT15:00:00Z", day);
    snprintf(t2, sizeof t2, "%sT15:30:00Z", day);
    snprintf(ob, sizeof ob, "%s-%s-%db", acct, day, n);
    snprintf(os, sizeof os, "%s-%s-%ds", acct, day, n);
    add(t1, acct, acct, "TSLA", 'b', 'f', ob, "240", "10");
    add(t2, acct, acct, "TSLA", 's', 'f', os, "241.5", "10");
}

Test(surveil, four_day_trades_in_five_business_days_across_a_weekend)
{
    /* Thu 4, Fri 5, Mon 8, Wed 10 January 2024: Thu..Wed is five business days. */
    const char *days[] = {"2024-01-04", "2024-01-05", "2024-01-08", "2024-01-10"};
    for (int i = 0; i < 4; i++)
        day_trade("P1", days[i], 0);
    cr_assert_eq(scan_us(), 1);
    const nd_surv_alert_t *a = &alerts.items[0];
    cr_assert_eq(a->rule, ND_SURV_PATTERN_DAY_TRADING);
    cr_assert_eq(a->measured, 4);
    cr_assert_eq(a->symbol, ND_SURV_ID_NONE);
    cr_assert_eq(a->order_count, 8);
    cr_assert(strstr(a->reason, "unknown type") != NULL, "%s", a->reason);
    cr_assert(strstr(a->reason, "equity unknown") != NULL, "%s", a->reason);
    cr_assert(strstr(a->reason, "2024-01-04..2024-01-10") != NULL, "%s", a->reason);
}

Test(surveil, three_day_trades_raise_nothing)
{
    const char *days[] = {"2024-01-04", "2024-01-05", "2024-01-08"};
    for (int i = 0; i < 3; i++)
        day_trade("P2", days[i], 0);
    cr_assert_eq(scan_us(), 0);
}

Test(surveil, four_day_trades_over_six_business_days_raise_nothing)
{
    const char *days[] = {"2024-01-04", "2024-01-05", "2024-01-08", "2024-01-11"};
    for (int i = 0; i < 4; i++)
        day_trade("P3", days[i], 0);
    cr_assert_eq(scan_us(), 0);
}

Test(surveil, a_holiday_is_not_a_business_day)
{
    /* Thu 4 .. Thu 11 is six business days, unless Tue 9 is a holiday: then five. */
    const char *days[] = {"2024-01-04", "2024-01-05", "2024-01-08", "2024-01-11"};
    for (int i = 0; i < 4; i++)
        day_trade("P3", days[i], 0);
    int64_t holiday = ts("2024-01-09") / ND_NS_PER_DAY;
    nd_surv_options_t opt = {.holidays = &holiday, .holiday_count = 1};
    cr_assert_eq(scan_with(nd_jurisdiction_profile(ND_JUR_US), &opt), 1);
}

static size_t pdt_with_account(nd_surv_account_type_t type, const char *equity)
{
    const char *days[] = {"2024-01-04", "2024-01-05", "2024-01-08", "2024-01-10"};
    for (int i = 0; i < 4; i++)
        day_trade("P4", days[i], 0);
    nd_surv_account_t acct = {.account = id("P4"), .type = type, .equity_known = *equity != 0,
                              .equity = dec(equity)};
    nd_surv_options_t opt = {.accounts = &acct, .account_count = 1};
    return scan_with(nd_jurisdiction_profile(ND_JUR_US), &opt);
}

Test(surveil, cash_account_is_not_a_pattern_day_trader)
{
    cr_assert_eq(pdt_with_account(ND_SURV_ACCOUNT_CASH, "1000"), 0);
}

Test(surveil, equity_of_25000_is_enough)
{
    cr_assert_eq(pdt_with_account(ND_SURV_ACCOUNT_MARGIN, "25000"), 0);
}

Test(surveil, equity_just_under_25000_is_flagged)
{
    cr_assert_eq(pdt_with_account(ND_SURV_ACCOUNT_MARGIN, "24999.99999999"), 1);
    cr_assert(strstr(alerts.items[0].reason, "a margin account with equity 24999.99999999"));
}

Test(surveil, day_trades_below_six_percent_of_trades_are_not_a_pattern)
{
    const char *days[] = {"2024-01-04", "2024-01-05", "2024-01-08", "2024-01-10"};
    for (int i = 0; i < 4; i++)
        day_trade("P5", days[i], 0);
    /* 4 day trades / 8 orders = 50%; add 60 buy orders in other symbols: 4 / 68 = 5.9%. */
    for (int i = 0; i < 60; i++) {
        char o[16], sym[16];
        snprintf(o, sizeof o, "b%d", i);
        snprintf(sym, sizeof sym, "S%d", i);
        add("2024-01-05T18:00:00Z", "P5", "P5", sym, 'b', 'f', o, "1", "1");
    }
    cr_assert_eq(scan_us(), 0);
}

Test(surveil, selling_an_overnight_position_then_buying_back_is_not_a_day_trade)
{
    add("2024-01-03T15:00:00Z", "P7", "P7", "TSLA", 'b', 'f', "o0", "240", "10");
    const char *days[] = {"2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"};
    for (int i = 0; i < 4; i++) {
        char t1[40], t2[40], os[16], ob[16];
        snprintf(t1, sizeof t1, "%sT15:00:00Z", days[i]);
        snprintf(t2, sizeof t2, "%sT16:00:00Z", days[i]);
        snprintf(os, sizeof os, "s%d", i);
        snprintf(ob, sizeof ob, "b%d", i);
        add(t1, "P7", "P7", "TSLA", 's', 'f', os, "240", "10");
        add(t2, "P7", "P7", "TSLA", 'b', 'f', ob, "240", "10");
    }
    cr_assert_eq(scan_us(), 0);
    cr_assert_eq(count_rule(ND_SURV_PATTERN_DAY_TRADING), 0);
}

Test(surveil, pattern_day_trading_is_a_us_rule_only)
{
    const char *days[] = {"2024-01-04", "2024-01-05", "2024-01-08", "2024-01-10"};
    for (int i = 0; i < 4; i++)
        day_trade("P1", days[i], 0);
    cr_assert_eq(scan_with(nd_jurisdiction_profile(ND_JUR_EU), NULL), 0);
}

Test(surveil, large_order_just_under_and_just_over_the_threshold)
{
    /* US: 1,000,000 USD. 999.99 x 1000 = 999,990; 1000 x 1000 = 1,000,000 (not above);
     * 1000.01 x 1000 = 1,000,010. */
    add("2024-02-01T15:00:00Z", "G1", "G", "IBM", 'b', 'n', "under", "999.99", "1000");
    add("2024-02-01T15:01:00Z", "G1", "G", "IBM", 'b', 'n', "exact", "1000", "1000");
    cr_assert_eq(scan_us(), 0);
    add("2024-02-01T15:02:00Z", "G1", "G", "IBM", 'b', 'n', "over", "1000.01", "1000");
    cr_assert_eq(scan_us(), 1);
    const nd_surv_alert_t *a = &alerts.items[0];
    cr_assert_eq(a->rule, ND_SURV_LARGE_VOLUME);
    cr_assert_str_eq(name(a->orders[0]), "over");
    cr_assert_eq(a->measured, 1000010LL * 100000000LL);
    cr_assert_eq(a->threshold, 1000000LL * 100000000LL);
}

Test(surveil, daily_notional_above_the_large_trader_level)
{
    /* US daily threshold: 20,000,000 USD per owner across accounts and symbols. */
    for (int i = 0; i < 21; i++) {
        char o[16];
        snprintf(o, sizeof o, "d%d", i);
        add_ns(ts("2024-02-01T15:00:00Z") + i * ND_NS_PER_MIN, i % 2 ? "D1" : "D2", "BIG",
               i % 3 ? "IBM" : "AAPL", 'b', 'f', o, "1000", "999.99");
    }
    /* Each fill is 999,990: 20 fills = 19,999,800 (not above), the 21st crosses. */
    cr_assert_eq(scan_us(), 1);
    const nd_surv_alert_t *a = &alerts.items[0];
    cr_assert_eq(a->rule, ND_SURV_LARGE_VOLUME);
    cr_assert_eq(a->symbol, ND_SURV_ID_NONE);
    cr_assert_eq(a->measured, 21LL * 99999000000000LL);
    cr_assert_eq(a->from_ns, ts("2024-02-01T15:00:00Z"));
    cr_assert_eq(a->to_ns, ts("2024-02-01T15:20:00Z"));
}

Test(surveil, share_of_a_given_average_daily_volume)
{
    add("2024-02-01T15:00:00Z", "V1", "V", "IBM", 'b', 'f', "v1", "100", "2500");
    nd_surv_adv_t adv = {id("IBM"), dec("10000")};
    nd_surv_options_t opt = {.adv = &adv, .adv_count = 1};
    cr_assert_eq(scan_with(nd_jurisdiction_profile(ND_JUR_US), &opt), 0); /* 25%: not above */
    add("2024-02-01T16:00:00Z", "V1", "V", "IBM", 'b', 'f', "v2", "100", "0.0001");
    cr_assert_eq(scan_with(nd_jurisdiction_profile(ND_JUR_US), &opt), 1);
    cr_assert_eq(alerts.items[0].measured, 2500); /* 25.00% in bps, rounded down */
}

static void messages(const char *acct, int count, int64_t spacing_ns)
{
    int64_t t0 = ts("2024-04-01T13:00:00Z");
    for (int i = 0; i < count; i++) {
        char o[32];
        snprintf(o, sizeof o, "%s-%d", acct, i / 2);
        add_ns(t0 + i * spacing_ns, acct, acct, "ES", 'b', i % 2 ? 'c' : 'n', o, "5000", "1");
    }
}

Test(surveil, high_frequency_above_and_below)
{
    messages("F2", 50, 19 * ND_NS_PER_MS); /* 50 messages in 931 ms: at the limit */
    cr_assert_eq(scan_us(), 0);
    nev = 0;
    messages("F1", 51, 19 * ND_NS_PER_MS); /* 51 in 950 ms: above */
    cr_assert_eq(scan_us(), 1);
    cr_assert_eq(alerts.items[0].rule, ND_SURV_HIGH_FREQUENCY);
    cr_assert_eq(alerts.items[0].measured, 51);
    cr_assert_eq(alerts.items[0].threshold, 50);
}

Test(surveil, order_to_trade_ratio)
{
    /* 600 messages over 10 minutes (one a second: no burst) and 5 fills: 120:1 > 100:1. */
    messages("R1", 600, ND_NS_PER_SEC);
    for (int i = 0; i < 5; i++) {
        char o[16];
        snprintf(o, sizeof o, "R1-%d", i);
        add_ns(ts("2024-04-01T13:00:00Z") + i, "R1", "R1", "ES", 'b', 'f', o, "5000", "1");
    }
    cr_assert_eq(scan_us(), 1);
    cr_assert_eq(alerts.items[0].measured, 12000);
    /* 6 fills: exactly 100:1, not above. */
    add("2024-04-01T13:20:00Z", "R1", "R1", "ES", 'b', 'f', "R1-9", "5000", "1");
    cr_assert_eq(scan_us(), 0);
}

Test(surveil, several_profiles_report_once_each_and_tag_the_alert)
{
    add("2024-01-02T15:00:00Z", "A1", "O1", "AAPL", 'b', 'f', "w1", "100", "1");
    add("2024-01-02T15:00:05Z", "A2", "O1", "AAPL", 's', 'f', "w2", "100", "1");
    const nd_surv_profile_t *ps[] = {nd_jurisdiction_profile(ND_JUR_US),
                                     nd_jurisdiction_profile(ND_JUR_EU),
                                     nd_jurisdiction_profile(ND_JUR_UK),
                                     nd_jurisdiction_profile(ND_JUR_SG)};
    char err[128];
    cr_assert_eq(nd_surv_scan(evs, nev, ps, 4, NULL, &alerts, err, sizeof err), ND_OK);
    cr_assert_eq(alerts.count, 4);
    for (int j = 0; j < 4; j++)
        cr_assert_eq(alerts.items[j].jurisdiction, (nd_jurisdiction_t)j);
    cr_assert(strstr(alerts.items[1].reason, "MAR") != NULL);
    cr_assert(strstr(alerts.items[3].reason, "SFA s197") != NULL);
}

Test(surveil, an_account_is_only_under_its_own_jurisdictions)
{
    add("2024-01-02T15:00:00Z", "A1", "O1", "AAPL", 'b', 'f', "w1", "100", "1");
    add("2024-01-02T15:00:05Z", "A2", "O1", "AAPL", 's', 'f', "w2", "100", "1");
    nd_surv_account_t accts[] = {{.account = id("A1"), .jurisdictions = ND_JUR_BIT(ND_JUR_EU)},
                                 {.account = id("A2"), .jurisdictions = ND_JUR_BIT(ND_JUR_EU)}};
    nd_surv_options_t opt = {.accounts = accts, .account_count = 2};
    cr_assert_eq(scan_with(nd_jurisdiction_profile(ND_JUR_US), &opt), 0);
    cr_assert_eq(scan_with(nd_jurisdiction_profile(ND_JUR_EU), &opt), 1);
    /* One account of the two under the US is enough for the cross-account case. */
    accts[1].jurisdictions |= ND_JUR_BIT(ND_JUR_US);
    cr_assert_eq(scan_with(nd_jurisdiction_profile(ND_JUR_US), &opt), 1);
}

Test(surveil, input_order_does_not_change_the_output)
{
    add("2024-01-02T15:00:30Z", "A2", "O1", "AAPL", 's', 'f', "w2", "185.12", "100");
    add("2024-01-02T15:00:00Z", "A1", "O1", "AAPL", 'b', 'f', "w1", "185.10", "100");
    cr_assert_eq(scan_us(), 1);
    cr_assert_eq(alerts.items[0].from_ns, ts("2024-01-02T15:00:00Z"));
    cr_assert_eq(alerts.items[0].fills[0], 1); /* indexes the caller's array */
}

Test(surveil, malformed_event_is_refused_with_its_index)
{
    add("2024-01-02T15:00:00Z", "A1", "O1", "AAPL", 'b', 'f', "w1", "100", "1");
    add("2024-01-02T15:00:00Z", "A1", "O1", "AAPL", 'b', 'f', "w2", "100", "1");
    evs[1].side = 0;
    const nd_surv_profile_t *ps[] = {nd_jurisdiction_profile(ND_JUR_US)};
    char err[128];
    cr_assert_eq(nd_surv_scan(evs, nev, ps, 1, NULL, &alerts, err, sizeof err), ND_EINVAL);
    cr_assert_str_eq(err, "event 1: side is neither buy nor sell");
    cr_assert_eq(alerts.count, 0);
}

Test(surveil, jurisdiction_codes)
{
    nd_jurisdiction_t j;
    cr_assert_eq(nd_jurisdiction_parse("eu", 2, &j), ND_OK);
    cr_assert_eq(j, ND_JUR_EU);
    cr_assert_eq(nd_jurisdiction_parse("GB", 2, &j), ND_OK);
    cr_assert_eq(j, ND_JUR_UK);
    cr_assert_eq(nd_jurisdiction_parse("FR", 2, &j), ND_ENOTFOUND);
    uint32_t mask = 0;
    char err[128];
    cr_assert_eq(nd_jurisdiction_parse_list("US, sg|UK", &mask, err, sizeof err), ND_OK);
    cr_assert_eq(mask, ND_JUR_BIT(ND_JUR_US) | ND_JUR_BIT(ND_JUR_SG) | ND_JUR_BIT(ND_JUR_UK));
    cr_assert_eq(nd_jurisdiction_parse_list("US,XX", &mask, err, sizeof err), ND_EPARSE);
    cr_assert_str_eq(err, "unknown jurisdiction 'XX' (known: US, EU, UK, SG)");
    const nd_surv_profile_t *us = nd_jurisdiction_profile(ND_JUR_US);
    cr_assert_eq(us->pdt_day_trades_min, 4);
    cr_assert_eq(us->pdt_business_days, 5);
    cr_assert_eq(us->pdt_equity_min, 25000LL * 100000000LL);
    cr_assert_eq(us->daily_notional_max, 20000000LL * 100000000LL);
    cr_assert((us->rules & ND_SURV_RULE_BIT(ND_SURV_PATTERN_DAY_TRADING)) != 0);
    cr_assert_eq(nd_jurisdiction_profile(ND_JUR_EU)->rules &
                     ND_SURV_RULE_BIT(ND_SURV_PATTERN_DAY_TRADING), 0);
    cr_assert_str_eq(nd_surv_rule_name(ND_SURV_PATTERN_DAY_TRADING), "pattern_day_trading");
    cr_assert_str_eq(nd_reject_name(ND_REJECT_SELF_MATCH), "self_match");
    cr_assert_str_eq(nd_reject_name(ND_REJECT_SURVEILLANCE_LIMIT), "surveillance_limit");
    cr_assert_eq(ND_REJECT_SELF_MATCH, 17);
    cr_assert_eq(ND_REJECT_SURVEILLANCE_LIMIT, 18);
}

Test(surveil, dictionary_interns_and_finds)
{
    uint32_t a = id("alpha"), b = id("beta");
    cr_assert_eq(a + 1, b);
    cr_assert_eq(id("alpha"), a);
    uint32_t f = 99;
    cr_assert_eq(nd_surv_dict_find(dict, "beta", 4, &f), ND_OK);
    cr_assert_eq(f, b);
    cr_assert_eq(nd_surv_dict_find(dict, "gamma", 5, &f), ND_ENOTFOUND);
    for (int i = 0; i < 5000; i++) {
        char s[16];
        snprintf(s, sizeof s, "n%d", i);
        id(s);
    }
    cr_assert_str_eq(name(a), "alpha");
    cr_assert_str_eq(nd_surv_dict_name(dict, ND_SURV_ID_NONE), "?");
    cr_assert_eq(nd_surv_dict_count(dict), 5002);
}

/* Regression: two fills of price and quantity 92233720368 overflowed the pattern-day-trading
 * position (UBSan) and the day's notional was clamped to INT64_MAX. An event whose notional
 * does not fit is refused up front; a sum that overflows is ND_EOVERFLOW naming the event. */
static nd_err_t scan_err(const nd_surv_profile_t *p, const nd_surv_options_t *opt, char *err,
                         size_t err_len)
{
    const nd_surv_profile_t *ps[1] = {p};
    alerts.count = 0;
    return nd_surv_scan(evs, nev, ps, 1, opt, &alerts, err, err_len);
}

Test(surveil, a_notional_past_int64_is_an_input_error)
{
    add("2024-01-02T15:00:00Z", "A", "A", "T", 'b', 'f', "o1", "92233720368", "92233720368");
    add("2024-01-02T15:00:01Z", "A", "A", "T", 'b', 'f', "o2", "92233720368", "92233720368");
    char err[256] = "";
    cr_assert_eq(scan_err(nd_jurisdiction_profile(ND_JUR_US), NULL, err, sizeof err),
                 ND_EOVERFLOW);
    cr_assert(strstr(err, "event 0 (data row 1): price x quantity") != NULL, "%s", err);
    cr_assert_eq(alerts.count, 0);
    int64_t n = 0;
    cr_assert_eq(nd_surv_event_notional(&evs[0], &n), ND_EOVERFLOW);
}

Test(surveil, a_position_or_a_day_total_that_overflows_is_refused_not_clamped)
{
    add("2024-01-02T15:00:00Z", "A", "A", "T", 'b', 'f', "o1", "0.00000001", "92233720368");
    add("2024-01-02T15:00:01Z", "A", "A", "T", 'b', 'f', "o2", "0.00000001", "92233720368");
    char err[256] = "";
    cr_assert_eq(scan_err(nd_jurisdiction_profile(ND_JUR_US), NULL, err, sizeof err),
                 ND_EOVERFLOW);
    cr_assert(strstr(err, "event 1 (data row 2): the account's position") != NULL, "%s", err);
    nev = 0;
    /* Each notional fits (5.5e10 units), their sum in one day does not. */
    add("2024-01-02T15:00:00Z", "A", "A", "T", 'b', 'f', "o1", "92233720", "600");
    add("2024-01-02T15:00:01Z", "A", "A", "T", 'b', 'f', "o2", "92233720", "600");
    cr_assert_eq(scan_err(nd_jurisdiction_profile(ND_JUR_EU), NULL, err, sizeof err),
                 ND_EOVERFLOW);
    cr_assert(strstr(err, "event 1 (data row 2): the owner's filled notional") != NULL, "%s",
              err);
    /* A time outside 1823..2116 (where window arithmetic could overflow) is refused too. */
    nev = 0;
    add_ns(INT64_MAX - 1, "A", "A", "T", 'b', 'f', "o1", "1", "1");
    cr_assert_eq(scan_err(nd_jurisdiction_profile(ND_JUR_US), NULL, err, sizeof err),
                 ND_EOVERFLOW);
    cr_assert(strstr(err, "time outside") != NULL, "%s", err);
}

/* The ADV share (the alert's measured bps) past int64 is an overflow, not a cast-cut value. */
Test(surveil, an_adv_share_past_int64_is_refused)
{
    add("2024-01-02T15:00:00Z", "A", "A", "T", 'b', 'f', "o1", "0.00000001", "92233720368");
    nd_surv_adv_t adv = {id("T"), 1};
    nd_surv_options_t opt = {.adv = &adv, .adv_count = 1};
    char err[256] = "";
    cr_assert_eq(scan_err(nd_jurisdiction_profile(ND_JUR_EU), &opt, err, sizeof err),
                 ND_EOVERFLOW);
    cr_assert(strstr(err, "event 0 (data row 1): the owner's share of the average daily volume")
              != NULL, "%s", err);
    adv.qty = dec("92233720368"); /* a 100% share: fits, alerts */
    cr_assert_eq(scan_err(nd_jurisdiction_profile(ND_JUR_EU), &opt, err, sizeof err), ND_OK,
                 "%s", err);
    cr_assert_eq(count_rule(ND_SURV_LARGE_VOLUME), 1);
}

/* The CSV event parser lives in the compliance module (surveil_csv.c), reachable without the
 * command: rows become events, and a bad row names the file, the line, the column and why. */
Test(surveil_csv, events_rows_and_errors, .init = setup, .fini = teardown)
{
    char path[] = "/tmp/nd_surv_csv_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "%s\n1700000000000,a1,o1,s,v,BTC,buy,new,1,100.5,2\n"
               "2024-01-02T09:30:00Z,a1,o1,s,v,BTC,buy,fill,1,100.5,2\n", ND_SURV_CSV_HEADER);
    cr_assert_eq(fclose(f), 0);
    nd_surv_inputs_t in;
    nd_surv_inputs_init(&in, dict, ND_JUR_BIT(ND_JUR_US));
    char err[256] = "";
    cr_assert_eq(nd_surv_csv_read_events(&in, path, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(in.event_count, 2);
    cr_assert_eq(in.events[0].px, 10050000000);
    cr_assert_eq(in.events[1].kind, ND_SURV_FILL);
    cr_assert_eq(nd_surv_inputs_complete_accounts(&in), ND_OK);
    cr_assert_eq(in.account_count, 1);
    nd_surv_inputs_deinit(&in);

    f = fopen(path, "w");
    fprintf(f, "%s\n1700000000000,a1,o1,s,v,BTC,buy,fill,1,92233720368,92233720368\n",
            ND_SURV_CSV_HEADER);
    cr_assert_eq(fclose(f), 0);
    nd_surv_inputs_init(&in, dict, ND_JUR_BIT(ND_JUR_US));
    cr_assert_eq(nd_surv_csv_read_events(&in, path, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, ":2: qty '92233720368': price x qty") != NULL, "%s", err);
    cr_assert_eq(in.event_count, 0);
    nd_surv_inputs_deinit(&in);
    unlink(path);

    nd_surv_adv_t adv;
    cr_assert_eq(nd_surv_adv_parse(dict, "BTC=1.5", &adv, err, sizeof err), ND_OK);
    cr_assert_eq(adv.qty, 150000000);
    cr_assert_eq(nd_surv_adv_parse(dict, "=1", &adv, err, sizeof err), ND_EPARSE);
    cr_assert_str_eq(err, "expected SYMBOL=QTY");
}
