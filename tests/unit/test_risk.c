/* test_risk.c: pre-trade checks at and around their limits, breakers tripping exactly at their
 * thresholds, halts, the daily reset and the kill switch. Equity is given in cash units here
 * (ext_per_cash = 1), so 10000 quote units are 10000 * 1e8. */
#include <criterion/criterion.h>

#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/risk.h"

#define CASH(x) ((int64_t)((x) * 100000000LL))
#define DAY0 (1577836800LL * ND_NS_PER_SEC) /* 2020-01-01T00:00:00Z */

static nd_risk_t risk;
static nd_instrument_t btc;

static void setup_default(void)
{
    nd_risk_config_t cfg;
    nd_risk_config_default(&cfg);
    cr_assert_eq(nd_risk_init(&risk, &cfg, 1), ND_OK);
    cr_assert_eq(nd_instrument_init(&btc, "BTC/USDT", "sim"), ND_OK);
}

TestSuite(risk, .init = setup_default);

static nd_order_t order(nd_side_t side, nd_order_type_t type, int64_t px, int64_t qty)
{
    nd_order_intent_t intent = {0, side, type, px, qty};
    nd_order_t o;
    nd_order_init(&o, 1, &intent, 0, DAY0);
    return o;
}

Test(risk, defaults)
{
    cr_assert_eq(risk.cfg.max_position_pct_e2, 2500);
    cr_assert_eq(risk.cfg.max_drawdown_pct_e2, 1200);
    cr_assert_eq(risk.cfg.daily_loss_pct_e2, 500);
    cr_assert_not(risk.halted);
}

Test(risk, position_limit_exactly_at_25_percent_passes)
{
    /* Equity 10000, price 100: 25 units are worth 2500, exactly 25%. */
    nd_risk_view_t v = {DAY0, 100 * 100000000LL, 0, 0, CASH(10000)};
    nd_order_t o = order(ND_SIDE_BUY, ND_ORDER_MARKET, 0, 25 * 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_NONE);
    nd_order_t more = order(ND_SIDE_BUY, ND_ORDER_MARKET, 0, 25 * 100000000LL + 1);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &more, &v), ND_REJECT_POSITION_LIMIT_EXCEEDED);
    cr_assert_eq(risk.rejects[ND_REJECT_POSITION_LIMIT_EXCEEDED], 1);
}

Test(risk, reducing_orders_always_pass_position_limit)
{
    /* Holding 50 units (50% of equity, over the limit): selling 10 reduces and passes. */
    nd_risk_view_t v = {DAY0, 100 * 100000000LL, 50 * 100000000LL, 0, CASH(10000)};
    nd_order_t o = order(ND_SIDE_SELL, ND_ORDER_MARKET, 0, 10 * 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_NONE);
    /* Selling 120 flips to a short of 70: larger than held, so it is checked and refused. */
    nd_order_t flip = order(ND_SIDE_SELL, ND_ORDER_MARKET, 0, 120 * 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &flip, &v), ND_REJECT_POSITION_LIMIT_EXCEEDED);
}

Test(risk, price_collar)
{
    nd_risk_view_t v = {DAY0, 100 * 100000000LL, 0, 0, CASH(10000)};
    nd_order_t at_edge = order(ND_SIDE_BUY, ND_ORDER_LIMIT, 110 * 100000000LL, 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &at_edge, &v), ND_REJECT_NONE);
    nd_order_t beyond = order(ND_SIDE_BUY, ND_ORDER_LIMIT, 110 * 100000000LL + 1000000, 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &beyond, &v), ND_REJECT_PRICE_OUTSIDE_BAND);
    nd_order_t below = order(ND_SIDE_SELL, ND_ORDER_STOP, 89 * 100000000LL, 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &below, &v), ND_REJECT_PRICE_OUTSIDE_BAND);
}

Test(risk, order_notional_limit)
{
    risk.cfg.max_order_notional = CASH(1000);
    nd_risk_view_t v = {DAY0, 100 * 100000000LL, 0, 0, CASH(100000)};
    nd_order_t ok = order(ND_SIDE_BUY, ND_ORDER_MARKET, 0, 10 * 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &ok, &v), ND_REJECT_NONE);
    nd_order_t big = order(ND_SIDE_BUY, ND_ORDER_MARKET, 0, 10 * 100000000LL + 1);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &big, &v), ND_REJECT_NOTIONAL_LIMIT_EXCEEDED);
}

Test(risk, order_rate_limit_per_second)
{
    risk.cfg.orders_per_sec_max = 2;
    nd_risk_view_t v = {DAY0, 100 * 100000000LL, 0, 0, CASH(10000)};
    nd_order_t o = order(ND_SIDE_BUY, ND_ORDER_MARKET, 0, 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_NONE);
    v.now_ns += 500 * ND_NS_PER_MS;
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_NONE);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_RATE_LIMIT_EXCEEDED);
    v.now_ns = DAY0 + ND_NS_PER_SEC; /* the first order is now exactly one second old */
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_NONE);
}

Test(risk, no_market_data_and_bad_orders)
{
    nd_risk_view_t v = {DAY0, 0, 0, 0, CASH(10000)};
    nd_order_t o = order(ND_SIDE_BUY, ND_ORDER_MARKET, 0, 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_NO_MARKET_DATA);
    v.last_px = 100 * 100000000LL;
    nd_order_t zero = order(ND_SIDE_BUY, ND_ORDER_MARKET, 0, 0);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &zero, &v), ND_REJECT_INVALID_QUANTITY);
    nd_order_t badpx = order(ND_SIDE_BUY, ND_ORDER_LIMIT, -5, 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &badpx, &v), ND_REJECT_INVALID_PRICE);
}

Test(risk, drawdown_e6_is_what_the_breaker_compares)
{
    risk.cfg.daily_loss_pct_e2 = 0;
    cr_assert_eq(nd_risk_drawdown_e6(&risk), 0); /* before the first report */
    nd_risk_on_equity(&risk, DAY0, CASH(10000));
    cr_assert_eq(nd_risk_drawdown_e6(&risk), 0);
    nd_risk_on_equity(&risk, DAY0 + 1, CASH(12000)); /* a new peak */
    cr_assert_eq(nd_risk_drawdown_e6(&risk), 0);
    nd_risk_on_equity(&risk, DAY0 + 2, CASH(11400)); /* 5% below the peak */
    cr_assert_eq(nd_risk_drawdown_e6(&risk), 50000);
    nd_risk_on_equity(&risk, DAY0 + 3, CASH(10560)); /* 12%: the breaker trips */
    cr_assert(risk.halted);
    cr_assert_eq(nd_risk_drawdown_e6(&risk), 120000);
}

Test(risk, drawdown_trips_exactly_at_threshold)
{
    risk.cfg.daily_loss_pct_e2 = 0; /* this test is about the drawdown breaker alone */
    cr_assert_not(nd_risk_on_equity(&risk, DAY0, CASH(10000)));
    cr_assert_not(nd_risk_on_equity(&risk, DAY0 + 1 * ND_NS_PER_DAY, CASH(12000))); /* new peak */
    /* 12% below 12000 is 10560; one unit above it does not trip. */
    cr_assert_not(nd_risk_on_equity(&risk, DAY0 + 2 * ND_NS_PER_DAY, CASH(10560) + 1));
    cr_assert_not(risk.halted);
    cr_assert(nd_risk_on_equity(&risk, DAY0 + 3 * ND_NS_PER_DAY, CASH(10560)));
    cr_assert(risk.halted);
    cr_assert_eq(risk.halt_kind, ND_BREAKER_DRAWDOWN);
    cr_assert_eq(risk.event_count, 1);
    cr_assert_eq(risk.events[0].kind, ND_BREAKER_DRAWDOWN);
    cr_assert_eq(risk.events[0].equity, CASH(10560));
    cr_assert_eq(risk.events[0].reference, CASH(12000));
    cr_assert_eq(risk.events[0].measured_e6, 120000);
    cr_assert_eq(risk.events[0].threshold_pct_e2, 1200);
    cr_assert_eq(risk.events[0].ts_ns, DAY0 + 3 * ND_NS_PER_DAY);
    /* Halted orders are refused, and the halt does not lift on a new day. */
    nd_risk_view_t v = {DAY0 + 5 * ND_NS_PER_DAY, 100 * 100000000LL, 0, 0, CASH(10000)};
    nd_order_t o = order(ND_SIDE_BUY, ND_ORDER_MARKET, 0, 100000000LL);
    cr_assert_not(nd_risk_on_equity(&risk, DAY0 + 5 * ND_NS_PER_DAY, CASH(10000)));
    cr_assert(risk.halted);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_HALTED);
}

Test(risk, daily_loss_trips_exactly_at_threshold_and_lifts_next_day)
{
    /* Day opens at 10000 (the last equity before midnight). 5% is 500. */
    cr_assert_not(nd_risk_on_equity(&risk, DAY0 - ND_NS_PER_HOUR, CASH(10000)));
    cr_assert_not(nd_risk_on_equity(&risk, DAY0 + ND_NS_PER_HOUR, CASH(9500) + 1));
    cr_assert(nd_risk_on_equity(&risk, DAY0 + 2 * ND_NS_PER_HOUR, CASH(9500)));
    cr_assert_eq(risk.halt_kind, ND_BREAKER_DAILY_LOSS);
    cr_assert_eq(risk.events[0].reference, CASH(10000));
    cr_assert_eq(risk.events[0].measured_e6, 50000);
    /* Same day, worse: no second daily trip. */
    cr_assert_not(nd_risk_on_equity(&risk, DAY0 + 3 * ND_NS_PER_HOUR, CASH(9400)));
    cr_assert_eq(risk.event_count, 1);
    /* Next UTC day: the halt lifts and the new day's opening equity is 9400. */
    cr_assert_not(nd_risk_on_equity(&risk, DAY0 + ND_NS_PER_DAY, CASH(9400)));
    cr_assert_not(risk.halted);
    cr_assert(nd_risk_on_equity(&risk, DAY0 + ND_NS_PER_DAY + 1, CASH(8930)));
    cr_assert_eq(risk.events[1].reference, CASH(9400));
}

Test(risk, drawdown_escalates_a_daily_halt)
{
    risk.cfg.daily_loss_pct_e2 = 500;
    cr_assert_not(nd_risk_on_equity(&risk, DAY0, CASH(10000)));
    cr_assert(nd_risk_on_equity(&risk, DAY0 + 1, CASH(9000)));  /* daily loss 10% */
    cr_assert_eq(risk.halt_kind, ND_BREAKER_DAILY_LOSS);
    cr_assert(nd_risk_on_equity(&risk, DAY0 + 2, CASH(8800)));  /* drawdown 12% */
    cr_assert_eq(risk.halt_kind, ND_BREAKER_DRAWDOWN);
    cr_assert_not(nd_risk_on_equity(&risk, DAY0 + ND_NS_PER_DAY, CASH(8800)));
    cr_assert(risk.halted); /* the drawdown halt outlives the day */
}

Test(risk, zero_thresholds_switch_breakers_off)
{
    risk.cfg.max_drawdown_pct_e2 = 0;
    risk.cfg.daily_loss_pct_e2 = 0;
    cr_assert_not(nd_risk_on_equity(&risk, DAY0, CASH(10000)));
    cr_assert_not(nd_risk_on_equity(&risk, DAY0 + 1, CASH(100)));
    cr_assert_not(risk.halted);
}

Test(risk, kill_switch_and_release)
{
    nd_risk_on_equity(&risk, DAY0, CASH(10000));
    nd_risk_kill(&risk, DAY0 + 5, CASH(10000));
    cr_assert(risk.kill_switch);
    cr_assert_eq(risk.events[0].kind, ND_BREAKER_KILL_SWITCH);
    nd_risk_view_t v = {DAY0 + 6, 100 * 100000000LL, 0, 0, CASH(10000)};
    nd_order_t o = order(ND_SIDE_BUY, ND_ORDER_MARKET, 0, 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_KILL_SWITCH);
    nd_risk_release(&risk);
    cr_assert_not(risk.kill_switch);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_NONE);
}

Test(risk, init_rejects_bad_limits)
{
    nd_risk_config_t cfg;
    nd_risk_config_default(&cfg);
    cfg.max_drawdown_pct_e2 = -1;
    cr_assert_eq(nd_risk_init(&risk, &cfg, 1), ND_EINVAL);
    nd_risk_config_default(&cfg);
    cfg.orders_per_sec_max = 5000;
    cr_assert_eq(nd_risk_init(&risk, &cfg, 1), ND_EINVAL);
    nd_risk_config_default(&cfg);
    cr_assert_eq(nd_risk_init(&risk, &cfg, 0), ND_EINVAL);
}

Test(risk, data_integrity_halts_until_released)
{
    cr_assert_not(nd_risk_on_equity(&risk, DAY0, CASH(10000)));
    nd_risk_data_integrity_fail(&risk, DAY0 + 10, CASH(10000), 2500000);
    cr_assert(risk.halted);
    cr_assert_eq(risk.halt_kind, ND_BREAKER_DATA_INTEGRITY);
    cr_assert_eq(risk.event_count, 1);
    cr_assert_eq(risk.events[0].kind, ND_BREAKER_DATA_INTEGRITY);
    cr_assert_eq(risk.events[0].measured_e6, 2500000);
    cr_assert_str_eq(nd_breaker_kind_name(ND_BREAKER_DATA_INTEGRITY), "data_integrity");
    nd_risk_data_integrity_fail(&risk, DAY0 + 20, CASH(10000), 1);
    cr_assert_eq(risk.event_count, 1, "one trip per failure");
    /* A new UTC day does not lift it, unlike a daily-loss halt. */
    cr_assert_not(nd_risk_on_equity(&risk, DAY0 + ND_NS_PER_DAY, CASH(10000)));
    cr_assert(risk.halted);
    nd_risk_view_t v = {DAY0 + ND_NS_PER_DAY, 100 * 100000000LL, 0, 0, CASH(10000)};
    nd_order_t o = order(ND_SIDE_BUY, ND_ORDER_MARKET, 0, 100000000LL);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_HALTED);
    nd_risk_release(&risk);
    cr_assert_eq(nd_risk_check_order(&risk, &btc, &o, &v), ND_REJECT_NONE);
}

Test(risk_reset, policies_parse_and_format_and_bad_ones_say_why)
{
    nd_breaker_reset_t p;
    char why[160], text[48];
    cr_assert_eq(nd_breaker_reset_parse("never", &p, why, sizeof why), ND_OK);
    cr_assert_eq(p.kind, ND_BREAKER_RESET_NEVER);
    cr_assert_eq(nd_breaker_reset_parse("next-day", &p, why, sizeof why), ND_OK);
    cr_assert_eq(p.kind, ND_BREAKER_RESET_NEXT_DAY);
    cr_assert_eq(nd_breaker_reset_parse("after:6h", &p, why, sizeof why), ND_OK);
    cr_assert_eq(p.kind, ND_BREAKER_RESET_AFTER);
    cr_assert_eq(p.after_ns, 6 * ND_NS_PER_HOUR);
    nd_breaker_reset_format(&p, text, sizeof text);
    cr_assert_str_eq(text, "after:6h");
    cr_assert_eq(nd_breaker_reset_parse(text, &p, why, sizeof why), ND_OK);
    cr_assert_eq(p.after_ns, 6 * ND_NS_PER_HOUR);
    cr_assert_neq(nd_breaker_reset_parse("after:0h", &p, why, sizeof why), ND_OK);
    cr_assert_eq(nd_breaker_reset_parse("after:99999999999w", &p, why, sizeof why), ND_ERANGE);
    cr_assert(strstr(why, "after:99999999999w") != NULL, "%s", why);
    cr_assert_eq(nd_breaker_reset_parse("after:90s", &p, why, sizeof why), ND_EPARSE);
    p = (nd_breaker_reset_t){ND_BREAKER_RESET_AFTER, 90 * ND_NS_PER_MIN};
    nd_breaker_reset_format(&p, text, sizeof text);
    cr_assert_str_eq(text, "after:90m");
    cr_assert_eq(nd_breaker_reset_parse("sometimes", &p, why, sizeof why), ND_EPARSE);
    cr_assert(strstr(why, "'sometimes'") != NULL, "%s", why);
}

Test(risk_reset, per_breaker_spec_sets_each_and_a_bad_item_changes_nothing)
{
    nd_risk_config_t cfg;
    nd_risk_config_default(&cfg);
    cr_assert_eq(cfg.drawdown_reset.kind, ND_BREAKER_RESET_NEVER);
    cr_assert_eq(cfg.daily_loss_reset.kind, ND_BREAKER_RESET_NEXT_DAY);
    char why[160];
    cr_assert_eq(nd_risk_config_set_reset(&cfg, "drawdown=after:1d", why, sizeof why), ND_OK);
    cr_assert_eq(cfg.drawdown_reset.kind, ND_BREAKER_RESET_AFTER);
    cr_assert_eq(cfg.daily_loss_reset.kind, ND_BREAKER_RESET_NEXT_DAY);
    cr_assert_eq(nd_risk_config_set_reset(&cfg, "daily-loss=never,drawdown=bogus", why, sizeof why),
                 ND_EPARSE);
    cr_assert_eq(cfg.daily_loss_reset.kind, ND_BREAKER_RESET_NEXT_DAY, "unchanged on error");
    cr_assert_eq(nd_risk_config_set_reset(&cfg, "weekly=never", why, sizeof why), ND_EPARSE);
    cr_assert_eq(nd_risk_config_set_reset(&cfg, "never", why, sizeof why), ND_OK);
    cr_assert_eq(cfg.daily_loss_reset.kind, ND_BREAKER_RESET_NEVER);
    cr_assert_eq(cfg.drawdown_reset.kind, ND_BREAKER_RESET_NEVER);
}

Test(risk_reset, a_daily_loss_halt_under_never_stays_and_after_lifts_on_time)
{
    nd_risk_config_t cfg;
    nd_risk_config_default(&cfg);
    cfg.max_drawdown_pct_e2 = 0;
    cfg.daily_loss_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_NEVER, 0};
    nd_risk_t r;
    cr_assert_eq(nd_risk_init(&r, &cfg, 1), ND_OK);
    int64_t t0 = 1577836800LL * ND_NS_PER_SEC;
    cr_assert_not(nd_risk_on_equity(&r, t0, 1000));
    cr_assert(nd_risk_on_equity(&r, t0 + ND_NS_PER_HOUR, 940));
    cr_assert_eq(r.halt_end_ns, INT64_MAX);
    cr_assert_not(nd_risk_on_equity(&r, t0 + 3 * ND_NS_PER_DAY, 940));
    cr_assert(r.halted, "never: only an operator lifts it");
    cfg.daily_loss_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_AFTER, 2 * ND_NS_PER_HOUR};
    cr_assert_eq(nd_risk_init(&r, &cfg, 1), ND_OK);
    cr_assert_not(nd_risk_on_equity(&r, t0, 1000));
    cr_assert(nd_risk_on_equity(&r, t0 + ND_NS_PER_HOUR, 940));
    cr_assert_eq(r.halted_since_ns, t0 + ND_NS_PER_HOUR);
    cr_assert_not(nd_risk_on_equity(&r, t0 + 3 * ND_NS_PER_HOUR - 1, 940));
    cr_assert(r.halted);
    cr_assert(nd_risk_on_equity(&r, t0 + 3 * ND_NS_PER_HOUR, 940) == false);
    cr_assert_not(r.halted, "lifted exactly two hours after the trip");
    cfg.daily_loss_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_AFTER, 0};
    cr_assert_eq(nd_risk_init(&r, &cfg, 1), ND_EINVAL, "after needs a positive duration");
}

Test(risk, working_orders_on_the_same_side_count_toward_the_position_limit)
{
    nd_risk_config_t cfg;
    nd_risk_config_default(&cfg);
    nd_risk_t r;
    cr_assert_eq(nd_risk_init(&r, &cfg, 1), ND_OK);
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    /* 25% of 10,000 at 100 is 25 units: 20 working plus 10 more is over, 5 more is at it. */
    nd_risk_view_t v = {DAY0, 100 * 100000000LL, 0, 20 * 100000000LL, CASH(10000)};
    nd_order_intent_t buy = {0, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 10 * 100000000LL};
    nd_order_t o;
    nd_order_init(&o, 1, &buy, 0, DAY0);
    cr_assert_eq(nd_risk_check_order(&r, &inst, &o, &v), ND_REJECT_POSITION_LIMIT_EXCEEDED);
    buy.qty = 5 * 100000000LL;
    nd_order_init(&o, 2, &buy, 0, DAY0);
    cr_assert_eq(nd_risk_check_order(&r, &inst, &o, &v), ND_REJECT_NONE);
    v.pending_qty = 0;
    buy.qty = 25 * 100000000LL;
    nd_order_init(&o, 3, &buy, 0, DAY0 + ND_NS_PER_SEC);
    cr_assert_eq(nd_risk_check_order(&r, &inst, &o, &v), ND_REJECT_NONE, "alone it fits");
}
