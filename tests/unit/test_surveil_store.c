/* test_surveil_store.c: the post-trade scan's bridge to the compliance store (memory backend):
 * which records become which surveillance events (accepted -> new, cancelled -> cancel,
 * amended -> cancel + new, fills; submitted, rejected and filled order events skipped), owner =
 * account, run-qualified order ids, the period, exact rescaling (and its refusal), and
 * recording a scan's alerts with evidence and an operator record that still verifies. */
#include <criterion/criterion.h>

#include "noderr/clock.h"
#include "noderr/store.h"
#include "noderr/surveillance.h"

#include <string.h>

#define T0 (1559574000LL * ND_NS_PER_SEC) /* 2019-06-03T15:00:00Z */

static nd_store_t *store;
static nd_surv_dict_t *dict;
static char err[256];

static void setup(void)
{
    cr_assert_eq(nd_store_open("mem:", 0, &store, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_surv_dict_create(&dict), ND_OK);
}

static void teardown(void)
{
    nd_store_close(store);
    nd_surv_dict_destroy(dict);
}

TestSuite(surveil_store, .init = setup, .fini = teardown);

static void order(int64_t ts_ns, const char *event, const char *id, int side, int64_t px,
                  int scale)
{
    nd_record_t r = {0};
    r.ts_ns = ts_ns;
    r.event = event;
    r.account = "A1";
    r.strategy = side > 0 ? "s_fast" : "s_slow";
    r.venue = "sim";
    r.instrument = "AAPL";
    r.client_order_id = id;
    r.side = side;
    r.px = px;
    r.px_scale = scale;
    r.qty = 100;
    r.qty_scale = 0;
    r.reason = strcmp(event, "rejected") == 0 ? "insufficient_funds" : "";
    cr_assert_eq(nd_store_append_order_event(store, &r, err, sizeof err), ND_OK, "%s", err);
}

static void fill(int64_t ts_ns, const char *id, int side, int64_t px, int scale)
{
    nd_record_t r = {0};
    r.ts_ns = ts_ns;
    r.event = "taker";
    r.account = "A1";
    r.strategy = side > 0 ? "s_fast" : "s_slow";
    r.venue = "sim";
    r.instrument = "AAPL";
    r.client_order_id = id;
    r.side = side;
    r.px = px;
    r.px_scale = scale;
    r.qty = 100;
    r.notional = 1;
    cr_assert_eq(nd_store_append_fill(store, &r, err, sizeof err), ND_OK, "%s", err);
}

static void op(const char *action)
{
    cr_assert_eq(nd_store_append_operator_action(store, T0 + 999 * ND_NS_PER_DAY, "cli", action,
                                                 "", err, sizeof err), ND_OK, "%s", err);
}

static const char *name(uint32_t id)
{
    return nd_surv_dict_name(dict, id);
}

Test(surveil_store, mapping_of_records_to_events)
{
    order(T0, "submitted", "1", 1, 18510, 2);         /* seq 1: skipped */
    order(T0, "accepted", "1", 1, 18510, 2);          /* seq 2: new 1 */
    order(T0 + 1, "submitted", "9", 1, 18510, 2);     /* seq 3: skipped */
    order(T0 + 1, "rejected", "9", 1, 18510, 2);      /* seq 4: never sent: skipped */
    fill(T0 + ND_NS_PER_SEC, "1", 1, 18510, 2);       /* seq 5: fill */
    order(T0 + ND_NS_PER_SEC, "filled", "1", 1, 18510, 2); /* seq 6: skipped (the fill says it) */
    op("backtest_start");                             /* seq 7: run 7 */
    order(T0 + 5 * ND_NS_PER_SEC, "accepted", "1", -1, 185120000000, 9); /* seq 8: new 7:1 */
    order(T0 + 6 * ND_NS_PER_SEC, "amended", "1", -1, 185130000000, 9);  /* cancel + new */
    order(T0 + 7 * ND_NS_PER_SEC, "cancelled", "1", -1, 185130000000, 9);
    op("backtest_end");
    order(T0 + 8 * ND_NS_PER_SEC, "accepted", "2", 1, 18500, 2); /* outside the run again */
    nd_store_surv_events_t ev;
    cr_assert_eq(nd_store_surv_load(store, 0, 0, dict, &ev, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(ev.count, 7);
    cr_assert_eq(ev.records, 6);
    cr_assert_eq(ev.runs, 1);
    const uint8_t kinds[7] = {ND_SURV_NEW, ND_SURV_FILL, ND_SURV_NEW, ND_SURV_CANCEL,
                              ND_SURV_NEW, ND_SURV_CANCEL, ND_SURV_NEW};
    const char *ids[7] = {"1", "1", "7:1", "7:1", "7:1", "7:1", "2"};
    for (size_t k = 0; k < 7; k++) {
        cr_assert_eq(ev.events[k].kind, kinds[k], "event %zu", k);
        cr_assert_str_eq(name(ev.events[k].order), ids[k], "event %zu", k);
        cr_assert_eq(ev.events[k].owner, ev.events[k].account); /* owner = account */
        cr_assert_str_eq(name(ev.events[k].account), "A1");
        cr_assert_str_eq(name(ev.events[k].symbol), "AAPL");
    }
    cr_assert_eq(ev.events[0].px, 18510000000);      /* 185.10 at scale 2 -> 8 */
    cr_assert_eq(ev.events[0].qty, 10000000000);     /* 100 at scale 0 -> 8 */
    cr_assert_eq(ev.events[2].px, 18512000000);      /* 185.12 at scale 9 -> 8, exact */
    cr_assert_eq(ev.events[4].px, 18513000000);      /* the amendment's new price */
    cr_assert_eq(ev.events[2].side, -1);
    cr_assert_str_eq(name(ev.events[1].strategy), "s_fast");
    cr_assert_eq(ev.events[1].ts_ns, T0 + ND_NS_PER_SEC);
    nd_store_surv_events_free(&ev);
    cr_assert_eq(nd_store_surv_load(store, T0 + 5 * ND_NS_PER_SEC, T0 + 7 * ND_NS_PER_SEC, dict,
                                    &ev, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(ev.count, 3); /* [from, to): the accepted and the amendment's two events */
    cr_assert_str_eq(name(ev.events[0].order), "7:1"); /* the run marker is outside the period */
    nd_store_surv_events_free(&ev);
}

Test(surveil_store, inexact_price_is_refused_naming_the_record)
{
    order(T0, "accepted", "1", 1, 185123456789, 9); /* 9 significant decimals */
    nd_store_surv_events_t ev;
    cr_assert_eq(nd_store_surv_load(store, 0, 0, dict, &ev, err, sizeof err), ND_EPRECISION);
    cr_assert(strstr(err, "record seq 1: price") != NULL, "%s", err);
}

Test(surveil_store, scan_and_record_alerts)
{
    order(T0, "accepted", "w1", 1, 18510, 2);
    fill(T0 + ND_NS_PER_SEC, "w1", 1, 18510, 2);
    order(T0 + 5 * ND_NS_PER_SEC, "accepted", "w2", -1, 18512, 2);
    fill(T0 + 11 * ND_NS_PER_SEC, "w2", -1, 18512, 2);
    int64_t before = nd_store_last_seq(store);
    nd_store_surv_events_t ev;
    cr_assert_eq(nd_store_surv_load(store, 0, 0, dict, &ev, err, sizeof err), ND_OK, "%s", err);
    const nd_surv_profile_t *us = nd_jurisdiction_profile(ND_JUR_US);
    nd_surv_alerts_t al;
    nd_surv_alerts_init(&al);
    cr_assert_eq(nd_surv_scan(ev.events, ev.count, &us, 1, NULL, &al, err, sizeof err), ND_OK);
    cr_assert_eq(al.count, 1);
    cr_assert_eq(al.items[0].rule, ND_SURV_WASH_TRADING);
    cr_assert_eq(nd_store_record_surv_alerts(store, &al, dict, ev.events, ev.count,
                                             T0 + ND_NS_PER_DAY, "test scan", err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(nd_store_last_seq(store), before + 2);
    cr_assert_eq(nd_store_pending(store), 0);
    nd_audit_result_t a;
    cr_assert_eq(nd_audit_verify(store, &a, err, sizeof err), ND_OK);
    cr_assert_eq(a.problem, ND_AUDIT_OK);
    cr_assert_eq(a.verified, before + 2);
    nd_surv_alerts_deinit(&al);
    nd_store_surv_events_free(&ev);
}
