/* test_surveil_pretrade.c: the strict pre-trade surveillance check blocks a self-match against
 * the same owner's resting opposite order and hard-limit breaches, and keeps its state as
 * events are applied. */
#include <criterion/criterion.h>

#include "noderr/clock.h"
#include "noderr/surveillance.h"

#include <string.h>

#define PX(units) ((int64_t)(units) * 100000000LL)

static nd_surv_event_t order(uint32_t order_id, uint32_t account, uint32_t owner, int side,
                             int64_t px, int64_t qty, int64_t ts_ns)
{
    nd_surv_event_t e = {0};
    e.ts_ns = ts_ns;
    e.px = px;
    e.qty = qty;
    e.account = account;
    e.owner = owner;
    e.symbol = 7;
    e.order = order_id;
    e.side = (int8_t)side;
    e.kind = ND_SURV_NEW;
    return e;
}

Test(surveil_pretrade, self_match_against_resting_order_of_same_owner_is_blocked)
{
    nd_surv_pretrade_t *st = NULL;
    cr_assert_eq(nd_surv_pretrade_create(nd_jurisdiction_profile(ND_JUR_US), &st), ND_OK);
    /* Owner 1 rests a sell at 100 from account 10. */
    nd_surv_event_t sell = order(1, 10, 1, ND_SIDE_SELL, PX(100), PX(1), 1000);
    cr_assert_eq(nd_surv_pretrade_check(st, &sell, NULL), ND_REJECT_NONE);
    cr_assert_eq(nd_surv_pretrade_apply(st, &sell), ND_OK);
    cr_assert_eq(nd_surv_pretrade_resting(st), 1);
    /* A buy at 100 from another account of the same owner would match it: blocked. */
    nd_surv_event_t buy = order(2, 11, 1, ND_SIDE_BUY, PX(100), PX(1), 2000);
    nd_surv_alert_t alert;
    cr_assert_eq(nd_surv_pretrade_check(st, &buy, &alert), ND_REJECT_SELF_MATCH);
    cr_assert_eq(alert.rule, ND_SURV_WASH_TRADING);
    cr_assert_eq(alert.order_count, 2);
    cr_assert_eq(alert.orders[0], 2);
    cr_assert_eq(alert.orders[1], 1);
    cr_assert_eq(alert.account_count, 2);
    cr_assert_eq(alert.from_ns, 1000);
    cr_assert_eq(alert.to_ns, 2000);
    cr_assert(strstr(alert.reason, "self-match") != NULL);
    /* A buy below the resting sell does not cross; a market buy does. */
    nd_surv_event_t low = order(3, 11, 1, ND_SIDE_BUY, PX(99), PX(1), 3000);
    cr_assert_eq(nd_surv_pretrade_check(st, &low, NULL), ND_REJECT_NONE);
    nd_surv_event_t mkt = order(4, 11, 1, ND_SIDE_BUY, 0, PX(1), 3000);
    cr_assert_eq(nd_surv_pretrade_check(st, &mkt, NULL), ND_REJECT_SELF_MATCH);
    /* Another owner may trade against it. */
    nd_surv_event_t other = order(5, 12, 2, ND_SIDE_BUY, PX(100), PX(1), 3000);
    cr_assert_eq(nd_surv_pretrade_check(st, &other, NULL), ND_REJECT_NONE);
    /* Once the sell is cancelled, the buy passes. */
    nd_surv_event_t cancel = sell;
    cancel.kind = ND_SURV_CANCEL;
    cancel.ts_ns = 4000;
    cr_assert_eq(nd_surv_pretrade_apply(st, &cancel), ND_OK);
    cr_assert_eq(nd_surv_pretrade_resting(st), 0);
    cr_assert_eq(nd_surv_pretrade_check(st, &buy, NULL), ND_REJECT_NONE);
    nd_surv_pretrade_destroy(st);
}

Test(surveil_pretrade, a_filled_order_no_longer_rests)
{
    nd_surv_pretrade_t *st = NULL;
    cr_assert_eq(nd_surv_pretrade_create(nd_jurisdiction_profile(ND_JUR_EU), &st), ND_OK);
    nd_surv_event_t sell = order(1, 10, 1, ND_SIDE_SELL, PX(100), PX(2), 1000);
    cr_assert_eq(nd_surv_pretrade_apply(st, &sell), ND_OK);
    nd_surv_event_t fill = sell;
    fill.kind = ND_SURV_FILL;
    fill.qty = PX(1);
    cr_assert_eq(nd_surv_pretrade_apply(st, &fill), ND_OK);
    cr_assert_eq(nd_surv_pretrade_resting(st), 1); /* half filled: still rests */
    cr_assert_eq(nd_surv_pretrade_apply(st, &fill), ND_OK);
    cr_assert_eq(nd_surv_pretrade_resting(st), 0);
    nd_surv_pretrade_destroy(st);
}

Test(surveil_pretrade, hard_notional_limit)
{
    nd_surv_pretrade_t *st = NULL;
    cr_assert_eq(nd_surv_pretrade_create(nd_jurisdiction_profile(ND_JUR_US), &st), ND_OK);
    /* US hard limit 5,000,000: 5000 x 1000 is at it, 5000.01 x 1000 above. */
    nd_surv_event_t at = order(1, 10, 1, ND_SIDE_BUY, PX(5000), PX(1000), 1);
    cr_assert_eq(nd_surv_pretrade_check(st, &at, NULL), ND_REJECT_NONE);
    nd_surv_event_t above = order(2, 10, 1, ND_SIDE_BUY, PX(5000) + 1000000, PX(1000), 1);
    nd_surv_alert_t alert;
    cr_assert_eq(nd_surv_pretrade_check(st, &above, &alert), ND_REJECT_SURVEILLANCE_LIMIT);
    cr_assert_eq(alert.rule, ND_SURV_LARGE_VOLUME);
    cr_assert_eq(alert.measured, PX(5000010));
    nd_surv_pretrade_destroy(st);
}

Test(surveil_pretrade, hard_message_rate_limit)
{
    nd_surv_pretrade_t *st = NULL;
    cr_assert_eq(nd_surv_pretrade_create(nd_jurisdiction_profile(ND_JUR_US), &st), ND_OK);
    /* US: 100 messages per second per account and symbol. */
    for (uint32_t i = 0; i < 100; i++) {
        nd_surv_event_t e = order(100 + i, 10, 1, ND_SIDE_BUY, PX(1), PX(1), i * ND_NS_PER_MS);
        cr_assert_eq(nd_surv_pretrade_check(st, &e, NULL), ND_REJECT_NONE, "message %u", i);
        cr_assert_eq(nd_surv_pretrade_apply(st, &e), ND_OK);
    }
    nd_surv_event_t next = order(500, 10, 1, ND_SIDE_BUY, PX(1), PX(1), 500 * ND_NS_PER_MS);
    cr_assert_eq(nd_surv_pretrade_check(st, &next, NULL), ND_REJECT_SURVEILLANCE_LIMIT);
    /* Another account is not limited by this one. */
    next.account = 11;
    cr_assert_eq(nd_surv_pretrade_check(st, &next, NULL), ND_REJECT_NONE);
    /* A second after the first message, the window has room again. */
    next.account = 10;
    next.ts_ns = ND_NS_PER_SEC;
    cr_assert_eq(nd_surv_pretrade_check(st, &next, NULL), ND_REJECT_NONE);
    nd_surv_pretrade_destroy(st);
}

/* A notional that does not fit int64 is refused as an overflow, not measured clamped. */
Test(surveil_pretrade, a_notional_past_int64_is_refused_as_overflow)
{
    nd_surv_pretrade_t *st = NULL;
    cr_assert_eq(nd_surv_pretrade_create(nd_jurisdiction_profile(ND_JUR_US), &st), ND_OK);
    nd_surv_event_t big = order(1, 10, 1, ND_SIDE_BUY, PX(92233720368), PX(92233720368), 1);
    nd_surv_alert_t alert;
    cr_assert_eq(nd_surv_pretrade_check(st, &big, &alert), ND_REJECT_OVERFLOW);
    cr_assert(strstr(alert.reason, "does not fit 64-bit cash units") != NULL, "%s", alert.reason);
    nd_surv_pretrade_destroy(st);
}
