/* test_coinbase_exec.c: the Coinbase Advanced Trade order adapter (cb_exec.c) against
 * exchange-sim --venue coinbase on 127.0.0.1 (its REST server on a thread, ES256 JWTs checked):
 * a first start journals the venue's balances as the opening ones; a market buy is ACCEPTED and
 * FILLED with the fee in quote; a limit order far from the market is ACCEPTED, then CANCELLED
 * by batch_cancel; an order off the product's tick is REJECTED without reaching the venue;
 * every intent and answer is in the journal and the local view's balances equal the venue's.
 * Then a crash (the worker stopped with an order working) and a restart from the journal:
 * reconciliation finds nothing to book, cancels the dead run's order, and leaves nothing of
 * ours open and the balances equal. */
#include "../../src/xsim/xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/coinbase.h"

#include <criterion/criterion.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cb_sim_fixture.h"

/* One run of the adapter: the journal replayed into a fresh local view, a RUN record. */
typedef struct run {
    nd_journal_t *journal;
    nd_recon_local_t *local;
    nd_coinbase_rest_t *rest;
    nd_coinbase_exec_t *x;
    nd_exec_venue_t v;
    nd_recon_instrument_t assets;
    uint32_t runs;
} run_t;

static void fold(void *ctx, const nd_journal_rec_t *rec)
{
    run_t *r = ctx;
    if (rec->kind == ND_JOURNAL_RUN)
        r->runs = rec->run;
    cr_assert_eq(nd_recon_local_fold(r->local, rec, &r->assets, 1), ND_OK);
}

static void run_open(run_t *r, const sim_t *s, const char *path, nd_clock_t *clock)
{
    char err[256] = "";
    memset(r, 0, sizeof *r);
    snprintf(r->assets.base, sizeof r->assets.base, "BTC");
    snprintf(r->assets.quote, sizeof r->assets.quote, "USD");
    r->local = nd_calloc(1, sizeof *r->local);
    cr_assert_eq(nd_journal_open(path, fold, r, &r->journal, err, sizeof err), ND_OK, "%s", err);
    nd_journal_rec_t run = {.kind = ND_JOURNAL_RUN, .run = r->runs + 1};
    snprintf(run.tag, sizeof run.tag, "cbx");
    cr_assert_eq(nd_journal_append(r->journal, &run, err, sizeof err), ND_OK);
    r->runs = run.run;
    cr_assert_eq(nd_coinbase_rest_create(s->rest_url, KEY_NAME, priv_pem, clock, 5000, &r->rest,
                                         err, sizeof err), ND_OK, "%s", err);
    nd_coinbase_exec_config_t cfg = {.rest = r->rest, .journal = r->journal, .local = r->local,
                                     .clock = clock, .product_id = "BTC-USD",
                                     .assets = r->assets, .tag = "cbx", .run = r->runs,
                                     .poll_interval_ns = 50 * ND_NS_PER_MS};
    cr_assert_eq(nd_coinbase_public_product(s->rest_url, "BTC-USD", 5000, &cfg.rules, err,
                                            sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_coinbase_exec_create(&cfg, &r->x, err, sizeof err), ND_OK, "%s", err);
    r->v = nd_coinbase_exec_venue(r->x);
    cr_assert_str_eq(r->v.facts.name, "coinbase");
}

static void run_close(run_t *r)
{
    nd_coinbase_exec_destroy(r->x);
    nd_journal_close(r->journal);
    nd_coinbase_rest_destroy(r->rest);
    nd_free(r->local);
}

/* Polls until an update of kind for client_id arrives (5 s at most). */
static nd_order_update_t wait_update(run_t *r, uint64_t client_id, nd_order_update_kind_t kind,
                                     nd_clock_t *clock)
{
    for (int i = 0; i < 500; i++) {
        nd_order_update_t u[16];
        size_t n = 0;
        cr_assert_eq(r->v.ops->poll(r->v.self, nd_clock_now_ns(clock), u, 16, &n), ND_OK);
        for (size_t k = 0; k < n; k++)
            if (u[k].client_id == client_id && u[k].kind == kind)
                return u[k];
        struct timespec pause = {0, 10 * ND_NS_PER_MS};
        nanosleep(&pause, NULL);
    }
    cr_assert_fail("no update %d for order %llu", (int)kind, (unsigned long long)client_id);
    return (nd_order_update_t){0};
}

static nd_order_t order(uint64_t id, nd_side_t side, nd_order_type_t type, int64_t px,
                        int64_t qty)
{
    return (nd_order_t){.client_id = id, .side = side, .type = type, .px = px, .qty = qty,
                        .status = ND_ORDER_NEW};
}

/* The venue's BTC and USD (free + locked) against the local view's. */
static void balances_equal(const sim_t *s, const nd_recon_local_t *l)
{
    int64_t bf, bl, qf, ql;
    nd_xsim_balances(s->x, &bf, &bl, &qf, &ql);
    int64_t base = 0, quote = 0;
    for (uint32_t i = 0; i < l->balance_count; i++) {
        if (strcmp(l->balances[i].asset, "BTC") == 0)
            base = l->balances[i].amount;
        if (strcmp(l->balances[i].asset, "USD") == 0)
            quote = l->balances[i].amount;
    }
    cr_assert_eq(base, bf + bl, "BTC: local %lld venue %lld", (long long)base, (long long)(bf + bl));
    cr_assert_eq(quote, qf + ql, "USD: local %lld venue %lld", (long long)quote,
                 (long long)(qf + ql));
}

Test(coinbase_exec, orders_fills_cancels_and_a_restart_through_exchange_sim, .timeout = 120)
{
    nd_clock_t *clock = nd_clock_os();
    make_keys();
    sim_t s;
    sim_start(&s, clock, 0);
    char path[96], err[256] = "";
    snprintf(path, sizeof path, "/tmp/nd_cbexec_%d.bin", (int)getpid());
    unlink(path);
    run_t r;
    run_open(&r, &s, path, clock);
    nd_recon_policy_t policy;
    nd_recon_policy_default(&policy);
    nd_recon_diff_t diffs[16];
    size_t n = 0;
    bool halt = true;
    cr_assert_eq(nd_coinbase_exec_recover(r.x, &policy, true, diffs, 16, &n, &halt, err,
                                          sizeof err), ND_OK, "%s", err);
    cr_assert(r.local->has_balances && n == 0 && !halt);
    cr_assert_eq(nd_coinbase_exec_start(r.x), ND_OK);

    nd_order_t buy = order(1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 100000); /* 0.001 BTC */
    cr_assert_eq(r.v.ops->submit(r.v.self, &buy, 0), ND_OK);
    nd_order_update_t u = wait_update(&r, 1, ND_UPDATE_ACCEPTED, clock);
    cr_assert_gt(u.venue_id, 0);
    u = wait_update(&r, 1, ND_UPDATE_FILL, clock);
    cr_assert_eq(u.fill.qty, 100000);
    cr_assert_gt(u.fill.fee, 0, "the fee in quote, as cash");
    cr_assert_eq(u.fill.fee_qty, 0);

    nd_order_t off_tick = order(2, ND_SIDE_BUY, ND_ORDER_LIMIT, 1000 * E8 + 1, 100000);
    cr_assert_eq(r.v.ops->submit(r.v.self, &off_tick, 0), ND_OK);
    u = wait_update(&r, 2, ND_UPDATE_REJECTED, clock);
    cr_assert_eq(u.reason, ND_REJECT_INVALID_PRICE);

    nd_order_t low = order(3, ND_SIDE_BUY, ND_ORDER_LIMIT, 1000 * E8, 1000000);
    cr_assert_eq(r.v.ops->submit(r.v.self, &low, 0), ND_OK);
    wait_update(&r, 3, ND_UPDATE_ACCEPTED, clock);
    cr_assert_eq(r.v.ops->open_count(r.v.self), 1);
    cr_assert_eq(r.v.ops->cancel(r.v.self, 3, 0), ND_OK);
    wait_update(&r, 3, ND_UPDATE_CANCELLED, clock);
    cr_assert_eq(r.v.ops->open_count(r.v.self), 0);
    balances_equal(&s, r.local);

    /* A working order, then a crash: the worker stops, the journal stays. */
    nd_order_t rest = order(4, ND_SIDE_BUY, ND_ORDER_LIMIT, 1000 * E8, 2000000);
    cr_assert_eq(r.v.ops->submit(r.v.self, &rest, 0), ND_OK);
    wait_update(&r, 4, ND_UPDATE_ACCEPTED, clock);
    nd_coinbase_exec_stats_t st;
    nd_coinbase_exec_stats(r.x, &st);
    cr_assert(st.submitted == 3 && st.accepted == 3 && st.fills == 1 && st.cancelled == 1, "%llu %llu %llu %llu",
              (unsigned long long)st.submitted, (unsigned long long)st.accepted,
              (unsigned long long)st.fills, (unsigned long long)st.cancelled);
    run_close(&r);

    run_t r2;
    run_open(&r2, &s, path, clock);
    cr_assert_eq(r2.runs, 2);
    cr_assert(r2.local->has_balances);
    cr_assert_eq(nd_coinbase_exec_recover(r2.x, &policy, true, diffs, 16, &n, &halt, err,
                                          sizeof err), ND_OK, "%s", err);
    cr_assert_eq(n, 0, "the journal knew everything: %zu differences", n);
    cr_assert_not(halt);
    nd_recon_order_t *lo = nd_recon_find(r2.local, "ndcbx-1-0-4");
    cr_assert_not_null(lo);
    cr_assert_eq(lo->status, ND_RECON_CANCELLED, "the dead run's order is cancelled");
    balances_equal(&s, r2.local);
    run_close(&r2);
    unlink(path);
    sim_stop(&s);
}
