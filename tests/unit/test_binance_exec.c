/* test_binance_exec.c: the Binance live venue adapter against exchange-sim on 127.0.0.1 (its
 * server on a thread): ACCEPTED with the venue id, CANCELLED after a cancel, FILLs with the
 * venue's exact price, quantity, notional and commission (each trade once), a venue reject
 * mapped to its reason, a filter reject that sends and journals nothing, a full queue refusing
 * an order before it is journaled, and the journal replaying to the same local view; the
 * emergency cancel-all (one DELETE /api/v3/openOrders) cancelling a burst still in the queue,
 * covering the orders' own cancels, waiting for room without letting an order overtake it, and
 * taking "nothing open" as done; with a libuv loop attached (journal.sync batched), orders and
 * cancels leaving from the loop's thread in order, answered on the loop, the syncer woken after
 * each send, and the loop's client closing every handle it opened. */
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/xsim.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "binance_sim_fixture.h"

#define E8 100000000LL

static const nd_recon_instrument_t assets = {.base = "BTC", .quote = "USDT"};

typedef bsim_t fixture_t;

/* Counts the adapter's "sent" hook: an answer received on the worker, not yet polled. */
static volatile int sent_count;

static void count_sent(void *ctx, const char *point)
{
    (void)ctx;
    if (strcmp(point, "sent") == 0)
        sent_count++;
}

/* exchange-sim (10,000 USDT, fees 10 bps, polled every 10 ms: a high weight limit), the adapter
 * (a queue of queue_max, 0 for the default) reconciled, its worker running if run_worker. */
static void start(fixture_t *f, uint32_t queue_max, bool run_worker)
{
    char err[256] = "", path[128];
    bsim_config_t c = {.key = "ex-key", .secret = "ex-secret", .quote_balance = 10000 * E8,
                       .fee_bps = 10, .step_ns = 100 * ND_NS_PER_MS,
                       .market_step_ns = 50 * ND_NS_PER_MS, .weight_limit = 10000000,
                       .recv_window_ms = 1000};
    cr_assert_eq(bsim_open(f, &c, nd_clock_os(), err, sizeof err), ND_OK, "%s", err);
    snprintf(path, sizeof path, "/tmp/nd-exec-test-%d.journal", (int)getpid());
    nd_binance_exec_config_t ecfg = {.clock = nd_clock_os(), .symbol = "BTCUSDT",
                                     .assets = assets, .tag = "t", .run = 1,
                                     .recv_window_ms = 1000, .queue_max = queue_max,
                                     .poll_interval_ns = 10 * ND_NS_PER_MS,
                                     .hook_cb = count_sent};
    cr_assert_eq(bsim_adapter(f, &ecfg, path, false, run_worker, err, sizeof err), ND_OK, "%s",
                 err);
    cr_assert_eq(f->recovered, 0);
}

static void stop(fixture_t *f)
{
    bsim_close(f);
}

/* Polls for up to ms until an update of kind arrives (collecting every update into got). */
static bool wait_for(fixture_t *f, nd_order_update_kind_t kind, nd_order_update_t *got, size_t *n,
                     int ms)
{
    for (int i = 0; i < ms; i++) {
        size_t count = 0;
        f->venue.ops->poll(f->venue.self, 0, got + *n, 64 - *n, &count);
        *n += count;
        for (size_t k = 0; k < *n; k++)
            if (got[k].kind == kind)
                return true;
        usleep(1000);
    }
    return false;
}

static nd_order_t limit(uint64_t client_id, nd_side_t side, nd_order_type_t type, int64_t px,
                        int64_t qty)
{
    nd_order_intent_t in = {.side = side, .type = type, .px = px, .qty = qty};
    nd_order_t o;
    nd_order_init(&o, client_id, &in, 0, 0);
    return o;
}

Test(binance_exec, accepted_with_the_venue_id_then_cancelled, .timeout = 30)
{
    fixture_t f;
    start(&f, 0, true);
    nd_order_t o = limit(1, ND_SIDE_BUY, ND_ORDER_LIMIT, 20000 * E8, 100000);
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &o, 0), ND_OK);
    nd_order_update_t got[64];
    size_t n = 0;
    cr_assert(wait_for(&f, ND_UPDATE_ACCEPTED, got, &n, 3000));
    cr_assert_eq(got[0].client_id, 1);
    const nd_xsim_user_order_t *vo = nd_xsim_order_by_client_id(f.x, "ndt-1-0-1");
    cr_assert_not_null(vo);
    cr_assert_eq(got[0].venue_id, (uint64_t)vo->id);
    cr_assert_eq(f.venue.ops->open_count(f.venue.self), 1);
    cr_assert_eq(f.venue.ops->cancel(f.venue.self, 1, 0), ND_OK);
    cr_assert_eq(f.venue.ops->cancel(f.venue.self, 99, 0), ND_ENOTFOUND);
    cr_assert(wait_for(&f, ND_UPDATE_CANCELLED, got, &n, 3000));
    cr_assert_eq(f.local->orders[0].status, ND_RECON_CANCELLED);
    cr_assert_eq(f.venue.ops->open_count(f.venue.self), 0);
    stop(&f);
}

Test(binance_exec, market_order_fills_exactly_once_with_the_venues_numbers, .timeout = 30)
{
    fixture_t f;
    start(&f, 0, true);
    nd_order_t o = limit(1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 100000); /* 0.001 BTC */
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &o, 0), ND_OK);
    nd_order_update_t got[64];
    size_t n = 0;
    cr_assert(wait_for(&f, ND_UPDATE_ACCEPTED, got, &n, 3000));
    int64_t filled = 0;
    for (int i = 0; i < 3000 && filled < 100000; i++) {
        filled = 0;
        wait_for(&f, ND_UPDATE_FILL, got, &n, 1);
        for (size_t k = 0; k < n; k++)
            filled += got[k].kind == ND_UPDATE_FILL ? got[k].fill.qty : 0;
    }
    cr_assert_eq(filled, 100000);
    usleep(100000);
    wait_for(&f, 99, got, &n, 50); /* more polls: no fill comes twice */
    size_t fills = 0;
    for (size_t k = 0; k < n; k++) {
        if (got[k].kind != ND_UPDATE_FILL)
            continue;
        const nd_xsim_trade_t *t = nd_xsim_trade_at(f.x, fills++);
        const nd_fill_t *fl = &got[k].fill;
        cr_assert_eq(fl->client_id, 1);
        cr_assert_eq(fl->px, t->px);
        cr_assert_eq(fl->qty, t->qty);
        cr_assert_eq(fl->notional, t->quote_qty);
        cr_assert_eq(fl->side, ND_SIDE_BUY);
        cr_assert(!fl->maker);
        /* A buy's commission is paid in base: the quantity the account did not receive. */
        cr_assert(t->commission_in_base);
        cr_assert_gt(t->commission, 0);
        cr_assert_eq(fl->fee_qty, t->commission);
        cr_assert_eq(fl->fee, 0);
    }
    cr_assert_eq(fills, nd_xsim_trade_count(f.x));
    cr_assert_eq(f.local->booked_count, fills);
    stop(&f);
}

Test(binance_exec, a_venue_reject_comes_back_with_its_reason, .timeout = 30)
{
    fixture_t f;
    start(&f, 0, true);
    nd_order_t o = limit(1, ND_SIDE_SELL, ND_ORDER_LIMIT, 90000 * E8, 50 * E8); /* no such BTC */
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &o, 0), ND_OK);
    nd_order_update_t got[64];
    size_t n = 0;
    cr_assert(wait_for(&f, ND_UPDATE_REJECTED, got, &n, 3000));
    cr_assert_eq(got[0].reason, ND_REJECT_INSUFFICIENT_FUNDS);
    cr_assert_eq(f.local->orders[0].status, ND_RECON_REJECTED);
    stop(&f);
}

Test(binance_exec, filter_rejects_and_a_full_queue_send_and_journal_nothing, .timeout = 30)
{
    fixture_t f;
    start(&f, 1, false); /* the worker does not run: the queue holds one request */
    int64_t seq = nd_journal_last_seq(f.journal);
    nd_order_t bad = limit(1, ND_SIDE_BUY, ND_ORDER_LIMIT, 30000 * E8, 1); /* below the lot */
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &bad, 0), ND_OK);
    nd_order_update_t got[64];
    size_t n = 0;
    cr_assert(wait_for(&f, ND_UPDATE_REJECTED, got, &n, 10));
    cr_assert_eq(got[0].reason, ND_REJECT_INVALID_QUANTITY);
    cr_assert_eq(nd_journal_last_seq(f.journal), seq);
    nd_order_t a = limit(2, ND_SIDE_BUY, ND_ORDER_LIMIT, 30000 * E8, 100000);
    nd_order_t b = limit(3, ND_SIDE_BUY, ND_ORDER_LIMIT, 30000 * E8, 100000);
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &a, 0), ND_OK);
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &b, 0), ND_EFULL);
    cr_assert_eq(nd_journal_last_seq(f.journal), seq + 1);
    cr_assert_eq(f.local->order_count, 1);
    cr_assert_eq(nd_binance_exec_pending(f.exec), 1);
    nd_binance_exec_stats_t st;
    nd_binance_exec_stats(f.exec, &st);
    cr_assert_eq(st.queue_full, 1);
    stop(&f);
}

static void fold(void *ctx, const nd_journal_rec_t *rec)
{
    cr_assert_eq(nd_recon_local_fold(ctx, rec, &assets, 1), ND_OK);
}

Test(binance_exec, the_journal_replays_to_the_same_local_view, .timeout = 30)
{
    fixture_t f;
    start(&f, 0, true);
    nd_order_t a = limit(1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 50000);
    nd_order_t b = limit(2, ND_SIDE_SELL, ND_ORDER_LIMIT, 90000 * E8, 50000);
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &a, 0), ND_OK);
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &b, 0), ND_OK);
    nd_order_update_t got[64];
    size_t n = 0;
    for (int i = 0; i < 3000 && (f.local->orders[0].filled_qty < 50000 ||
                                 f.local->orders[1].status != ND_RECON_OPEN); i++)
        wait_for(&f, 99, got, &n, 1);
    cr_assert_eq(f.local->orders[0].filled_qty, 50000);
    char err[256];
    nd_journal_t *again = NULL;
    nd_recon_local_t *view = nd_calloc(1, sizeof *view);
    cr_assert_eq(nd_journal_open(f.path, fold, view, &again, err, sizeof err), ND_OK);
    nd_journal_close(again);
    cr_assert_eq(memcmp(view, f.local, sizeof *view), 0);
    nd_free(view);
    stop(&f);
}

Test(binance_exec, a_long_session_compacts_the_local_view_and_keeps_tracking, .timeout = 120)
{
    fixture_t f;
    start(&f, 0, true);
    nd_order_t keep = limit(1, ND_SIDE_BUY, ND_ORDER_LIMIT, 20000 * E8, 100000);
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &keep, 0), ND_OK);
    nd_order_update_t got[64];
    size_t n = 0;
    cr_assert(wait_for(&f, ND_UPDATE_ACCEPTED, got, &n, 3000));
    /* More orders than the view holds, each refused by the venue (no such BTC): all done. */
    uint64_t total = ND_RECON_ORDERS_MAX + 100;
    for (uint64_t k = 2; k <= total; k++) {
        nd_order_t o = limit(k, ND_SIDE_SELL, ND_ORDER_LIMIT, 90000 * E8, 50 * E8);
        nd_err_t rc;
        while ((rc = f.venue.ops->submit(f.venue.self, &o, 0)) == ND_EFULL) {
            n = 0;
            wait_for(&f, 99, got, &n, 1);
        }
        cr_assert_eq(rc, ND_OK);
    }
    for (int i = 0; i < 5000 && nd_binance_exec_pending(f.exec) > 0; i++) {
        n = 0;
        wait_for(&f, 99, got, &n, 1);
    }
    cr_assert_leq(f.local->order_count, ND_RECON_ORDERS_MAX);
    cr_assert_lt(f.local->order_count, 200);
    cr_assert_eq(f.venue.ops->open_count(f.venue.self), 1); /* the first order, still working */
    cr_assert_eq(f.venue.ops->cancel(f.venue.self, 1, 0), ND_OK);
    n = 0;
    cr_assert(wait_for(&f, ND_UPDATE_CANCELLED, got, &n, 3000));
    cr_assert_eq(got[n - 1].client_id, 1);
    nd_binance_exec_stats_t st;
    nd_binance_exec_stats(f.exec, &st);
    cr_assert_eq(st.rejected, total - 1);
    stop(&f);
}

/* Polls until count updates of kind came (or ms passed); the number that came. */
static size_t count_updates(fixture_t *f, nd_order_update_kind_t kind, size_t count, int ms)
{
    size_t seen = 0;
    for (int i = 0; i < ms && seen < count; i++) {
        nd_order_update_t got[64];
        size_t n = 0;
        f->venue.ops->poll(f->venue.self, 0, got, 64, &n);
        for (size_t k = 0; k < n; k++)
            seen += got[k].kind == kind;
        if (seen < count)
            usleep(1000);
    }
    return seen;
}

Test(binance_exec, cancel_all_cancels_a_burst_still_in_the_queue, .timeout = 30)
{
    fixture_t f;
    start(&f, 0, true);
    for (uint64_t k = 1; k <= 40; k++) {
        nd_order_t o = limit(k, ND_SIDE_BUY, ND_ORDER_LIMIT, (int64_t)(20000 - k) * E8, 100000);
        cr_assert_eq(f.venue.ops->submit(f.venue.self, &o, 0), ND_OK);
    }
    /* At once: most of the burst is still queued behind the worker, unanswered. */
    cr_assert_eq(nd_binance_exec_cancel_all(f.exec), ND_OK);
    cr_assert(nd_binance_exec_cancel_all_busy(f.exec));
    for (uint64_t k = 1; k <= 40; k++) /* covered: nothing more is sent */
        cr_assert_eq(f.venue.ops->cancel(f.venue.self, k, 0), ND_OK);
    cr_assert_eq(count_updates(&f, ND_UPDATE_CANCELLED, 40, 5000), 40);
    cr_assert(!nd_binance_exec_cancel_all_busy(f.exec));
    nd_binance_exec_stats_t st;
    nd_binance_exec_stats(f.exec, &st);
    cr_assert_eq(st.cancels, 1, "one request for the 40: %llu", (unsigned long long)st.cancels);
    cr_assert_eq(st.cancelled, 40);
    cr_assert_eq(f.venue.ops->open_count(f.venue.self), 0);
    for (uint32_t i = 0; i < f.local->order_count; i++) {
        cr_assert_eq(f.local->orders[i].status, ND_RECON_CANCELLED);
        cr_assert(f.local->orders[i].cancel_sent); /* its intent is in the journal */
    }
    for (int64_t id = 1; id <= nd_xsim_order_count(f.x); id++)
        cr_assert_eq(nd_xsim_order(f.x, id)->status, ND_XSIM_CANCELED);
    /* The journal replays to the same view. */
    char err[256];
    nd_journal_t *again = NULL;
    nd_recon_local_t *view = nd_calloc(1, sizeof *view);
    cr_assert_eq(nd_journal_open(f.path, fold, view, &again, err, sizeof err), ND_OK);
    nd_journal_close(again);
    cr_assert_eq(memcmp(view, f.local, sizeof *view), 0);
    nd_free(view);
    stop(&f);
}

Test(binance_exec, cancel_all_waits_for_room_and_no_order_overtakes_it, .timeout = 30)
{
    fixture_t f;
    start(&f, 4, true);
    for (uint64_t k = 1; k <= 4; k++) {
        nd_order_t o = limit(k, ND_SIDE_BUY, ND_ORDER_LIMIT, 20000 * E8, 100000);
        cr_assert_eq(f.venue.ops->submit(f.venue.self, &o, 0), ND_OK);
    }
    cr_assert_eq(nd_binance_exec_cancel_all(f.exec), ND_OK); /* the queue is full: it waits */
    nd_order_t late = limit(5, ND_SIDE_BUY, ND_ORDER_LIMIT, 20000 * E8, 100000);
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &late, 0), ND_EFULL);
    cr_assert_eq(count_updates(&f, ND_UPDATE_CANCELLED, 4, 5000), 4);
    cr_assert(!nd_binance_exec_cancel_all_busy(f.exec));
    cr_assert_eq(nd_xsim_order_count(f.x), 4);
    stop(&f);
}

Test(binance_exec, cancel_all_with_nothing_open_is_done, .timeout = 30)
{
    fixture_t f;
    start(&f, 0, true);
    cr_assert_eq(nd_binance_exec_cancel_all(f.exec), ND_OK);
    for (int i = 0; i < 3000 && nd_binance_exec_cancel_all_busy(f.exec); i++)
        count_updates(&f, ND_UPDATE_CANCELLED, 1, 1);
    cr_assert(!nd_binance_exec_cancel_all_busy(f.exec), "-2011 (none open) must end it");
    nd_binance_exec_stats_t st;
    nd_binance_exec_stats(f.exec, &st);
    cr_assert_eq(st.cancels, 1);
    stop(&f);
}

/* A restart over the journal as it is: a fresh local view, an adapter of run 2, recover; the
 * milliseconds recover took. */
static int64_t restart(fixture_t *f, nd_binance_exec_stats_t *st, const char *marks)
{
    char err[256] = "";
    nd_binance_exec_destroy(f->exec);
    nd_journal_close(f->journal);
    memset(f->local, 0, sizeof *f->local);
    cr_assert_eq(nd_journal_open(f->path, fold, f->local, &f->journal, err, sizeof err), ND_OK);
    nd_binance_exec_config_t ecfg = {.rest = f->rest, .journal = f->journal, .local = f->local,
                                     .clock = nd_clock_os(), .symbol = "BTCUSDT",
                                     .assets = assets, .tag = "t", .run = 2,
                                     .recv_window_ms = 1000, .sending_path = marks};
    cr_assert_eq(nd_binance_exec_create(&ecfg, &f->exec, err, sizeof err), ND_OK, "%s", err);
    nd_recon_policy_t policy;
    nd_recon_policy_default(&policy);
    size_t n;
    bool halt;
    int64_t t0 = nd_clock_now_ns(nd_clock_os());
    cr_assert_eq(nd_binance_exec_recover(f->exec, &policy, false, NULL, 0, &n, &halt, err,
                                         sizeof err), ND_OK, "%s", err);
    int64_t ms = (nd_clock_now_ns(nd_clock_os()) - t0) / ND_NS_PER_MS;
    nd_binance_exec_stats(f->exec, st);
    return ms;
}

Test(binance_exec, a_restart_waits_only_for_intents_the_venue_does_not_know, .timeout = 30)
{
    fixture_t f;
    start(&f, 0, true);
    sent_count = 0; /* start's own reconciliation ran requests too */
    /* An order that reached the venue, its answer never polled: the journal has the intent
     * alone, as after kill -9 between the send and the answer. */
    nd_order_t o = limit(1, ND_SIDE_BUY, ND_ORDER_LIMIT, 20000 * E8, 100000);
    cr_assert_eq(f.venue.ops->submit(f.venue.self, &o, 0), ND_OK);
    for (int i = 0; i < 3000 && sent_count < 1; i++)
        usleep(1000);
    cr_assert_eq(sent_count, 1);
    nd_binance_exec_stats_t st;
    int64_t ms = restart(&f, &st, NULL);
    /* recvWindow is 1000 ms: the old rule waited it out (1.1 s) for every unanswered intent. */
    cr_assert_lt(ms, 600, "recover took %lld ms for an intent the venue has", (long long)ms);
    cr_assert_eq(st.waited, 0);
    cr_assert_eq(nd_recon_find(f.local, "ndt-1-0-1")->status, ND_RECON_OPEN);
    /* An intent journaled just now that never left: the venue does not know it, and it might
     * still arrive until its recvWindow is over: that one is waited out, then dropped. */
    nd_journal_rec_t rec = {.kind = ND_JOURNAL_NEW, .ts_ns = nd_clock_now_ns(nd_clock_os()),
                            .order = {.clid = "ndt-2-0-1", .side = ND_SIDE_BUY,
                                      .type = ND_ORDER_LIMIT, .px = 20000 * E8, .qty = 100000}};
    char err[256];
    cr_assert_eq(nd_journal_append(f.journal, &rec, err, sizeof err), ND_OK);
    ms = restart(&f, &st, NULL);
    cr_assert_geq(ms, 1000, "recover took %lld ms: it must outwait the recvWindow", (long long)ms);
    cr_assert_eq(st.waited, 1);
    cr_assert_eq(nd_recon_find(f.local, "ndt-2-0-1")->status, ND_RECON_DROPPED);
    stop(&f);
}

Test(binance_exec, with_send_marks_an_unmarked_intent_needs_no_wait, .timeout = 30)
{
    fixture_t f;
    start(&f, 0, true);
    char marks[sizeof f.path + 16];
    snprintf(marks, sizeof marks, "%s.sending", f.path);
    unlink(marks);
    nd_binance_exec_stats_t st;
    (void)restart(&f, &st, marks); /* no marks yet (none trusted): starts the file */
    /* A run that marks its sends: an order sent (marked), and an intent that never left (the
     * process died after journaling it, before its mark). */
    nd_exec_venue_t v = nd_binance_exec_venue(f.exec);
    cr_assert_eq(nd_binance_exec_start(f.exec), ND_OK);
    sent_count = 0;
    nd_order_t o = limit(1, ND_SIDE_BUY, ND_ORDER_LIMIT, 20000 * E8, 100000);
    cr_assert_eq(v.ops->submit(v.self, &o, 0), ND_OK);
    for (int i = 0; i < 3000 && sent_count < 1; i++)
        usleep(1000);
    nd_journal_rec_t rec = {.kind = ND_JOURNAL_NEW, .ts_ns = nd_clock_now_ns(nd_clock_os()),
                            .order = {.clid = "ndt-2-0-9", .side = ND_SIDE_BUY,
                                      .type = ND_ORDER_LIMIT, .px = 20000 * E8, .qty = 100000}};
    char err[256];
    cr_assert_eq(nd_journal_append(f.journal, &rec, err, sizeof err), ND_OK);
    int64_t ms = restart(&f, &st, marks);
    cr_assert_lt(ms, 600, "recover took %lld ms: the unmarked intent never left", (long long)ms);
    cr_assert_eq(st.never_left, 1);
    cr_assert_eq(st.waited, 0);
    cr_assert_eq(nd_recon_find(f.local, "ndt-2-0-9")->status, ND_RECON_DROPPED);
    cr_assert_eq(nd_recon_find(f.local, "ndt-2-0-1")->status, ND_RECON_OPEN, "the marked one");
    unlink(marks);
    stop(&f);
}

/* Polls for up to ms, running loop between polls, until count updates of kind arrived. */
static size_t wait_loop(fixture_t *f, uv_loop_t *loop, nd_order_update_kind_t kind, size_t count,
                        int ms)
{
    size_t seen = 0;
    for (int i = 0; i < ms && seen < count; i++) {
        nd_order_update_t got[64];
        size_t n = 0;
        uv_run(loop, UV_RUN_NOWAIT);
        f->venue.ops->poll(f->venue.self, 0, got, 64, &n);
        for (size_t k = 0; k < n; k++)
            seen += got[k].kind == kind;
        if (seen < count)
            usleep(1000);
    }
    return seen;
}

Test(binance_exec, from_the_loop_orders_and_cancels_leave_in_order_and_answer_on_it,
     .timeout = 60)
{
    fixture_t f;
    start(&f, 0, true);
    char err[256] = "";
    cr_assert_eq(nd_journal_set_sync(f.journal, ND_JOURNAL_SYNC_BATCHED, err, sizeof err),
                 ND_OK);
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(nd_binance_exec_attach_loop(f.exec, &loop, err, sizeof err), ND_OK, "%s", err);
    uint64_t syncs = nd_journal_sync_count(f.journal);
    /* A burst of orders, each cancelled at once: on one connection a cancel never overtakes
     * its order (-2011 "unknown order" would come back as CANCEL_REJECTED). */
    for (uint64_t id = 1; id <= 5; id++) {
        nd_order_t o = limit(id, ND_SIDE_BUY, ND_ORDER_LIMIT, (20000 + (int64_t)id) * E8, 100000);
        cr_assert_eq(f.venue.ops->submit(f.venue.self, &o, 0), ND_OK);
    }
    for (uint64_t id = 1; id <= 5; id++)
        cr_assert_eq(f.venue.ops->cancel(f.venue.self, id, 0), ND_OK);
    cr_assert_eq(nd_binance_exec_pending(f.exec), 10);
    size_t cancelled = wait_loop(&f, &loop, ND_UPDATE_CANCELLED, 5, 5000);
    nd_binance_exec_stats_t st;
    nd_binance_exec_stats(f.exec, &st);
    cr_assert_eq(cancelled, 5, "accepted %llu cancel_rejected %llu rtt %llu pending %u",
                 (unsigned long long)st.accepted, (unsigned long long)st.cancel_rejected,
                 (unsigned long long)st.round_trips, nd_binance_exec_pending(f.exec));
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq(f.local->orders[i].status, ND_RECON_CANCELLED);
    cr_assert_eq(nd_xsim_order_count(f.x), 5);
    cr_assert_eq(st.accepted, 5);
    cr_assert_eq(st.cancel_rejected, 0);
    cr_assert_geq(st.round_trips, 10);
    /* Every intent was handed to the syncer, which ran after the sends without polling. */
    for (int i = 0; i < 2000 && nd_journal_sync_count(f.journal) == syncs; i++)
        usleep(1000);
    cr_assert_gt(nd_journal_sync_count(f.journal), syncs);
    nd_binance_exec_detach_loop(f.exec);
    uv_run(&loop, UV_RUN_DEFAULT); /* the client's close callbacks */
    cr_assert_eq(uv_loop_close(&loop), 0);
    stop(&f);
}
