/* test_coinbase_paging.c: Coinbase's paginated lists (limit, cursor, has_next) against
 * exchange-sim paging at 3 a page: every order and fill is read across pages, at any page limit
 * of the client; the pages are bounded (ND_COINBASE_LIST_PAGES_MAX, then ND_EFULL); the order
 * adapter's poll sees every open order of ours when they fill several pages. */
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


static void count_event(void *ctx, const nd_md_event_t *ev)
{
    (void)ev;
    (*(size_t *)ctx)++;
}

static void place(nd_coinbase_rest_t *rest, int i, bool market)
{
    char id[32], err[256] = "";
    snprintf(id, sizeof id, "pg-%d", i);
    nd_coinbase_order_req_t req = {.client_order_id = id, .product_id = "BTC-USD", .buy = true,
                                   .market = market, .base_size = "0.001",
                                   .limit_price = market ? NULL : "10000.00"};
    nd_coinbase_order_result_t res;
    cr_assert_eq(nd_coinbase_create_order(rest, &req, &res, err, sizeof err), ND_OK, "%s", err);
    cr_assert(res.success, "order %d refused", i);
}

/* Orders the venue lists (every one not rejected) and its fills, as exchange-sim holds them. */
static size_t venue_orders(const sim_t *s)
{
    size_t n = 0;
    for (int64_t id = 1; id <= nd_xsim_order_count(s->x); id++)
        n += nd_xsim_order(s->x, id)->status != ND_XSIM_REJECTED;
    return n;
}

Test(coinbase_paging, every_order_and_fill_across_pages, .timeout = 60)
{
    make_keys();
    nd_clock_t *clock = nd_clock_os();
    sim_t s;
    sim_start(&s, clock, 3);
    char err[256] = "";
    nd_coinbase_rest_t *rest = NULL;
    cr_assert_eq(nd_coinbase_rest_create(s.rest_url, KEY_NAME, priv_pem, clock, 5000, &rest, err,
                                         sizeof err), ND_OK, "%s", err);
    for (int i = 0; i < 7; i++)
        place(rest, i, false);
    for (int i = 7; i < 10; i++)
        place(rest, i, true);
    cr_assert_geq(nd_xsim_trade_count(s.x), 3);
    for (uint32_t limit = 0; limit <= 4; limit += 2) { /* the default, 2, 4: the venue pages at 3 */
        nd_coinbase_rest_set_page_limit(rest, limit);
        size_t seen = 0, n = 0;
        cr_assert_eq(nd_coinbase_list_orders(rest, "BTC-USD", count_event, &seen, &n, err,
                                             sizeof err), ND_OK, "%s", err);
        cr_assert_eq(n, venue_orders(&s));
        cr_assert_eq(seen, n);
        seen = 0;
        cr_assert_eq(nd_coinbase_list_fills(rest, "BTC-USD", count_event, &seen, &n, err,
                                            sizeof err), ND_OK, "%s", err);
        cr_assert_eq(n, nd_xsim_trade_count(s.x));
        cr_assert_eq(seen, n);
    }
    /* Bounded: more pages than ND_COINBASE_LIST_PAGES_MAX is refused, naming the list. */
    for (int i = 10; i <= ND_COINBASE_LIST_PAGES_MAX; i++)
        place(rest, i, false);
    nd_coinbase_rest_set_page_limit(rest, 1);
    size_t n = 12345;
    cr_assert_eq(nd_coinbase_list_orders(rest, "BTC-USD", NULL, NULL, &n, err, sizeof err),
                 ND_EFULL);
    cr_assert_eq(n, 12345);
    cr_assert(strstr(err, "/orders/historical/batch") != NULL, "%s", err);
    nd_coinbase_rest_set_page_limit(rest, 0);
    cr_assert_eq(nd_coinbase_list_orders(rest, "BTC-USD", NULL, NULL, &n, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(n, venue_orders(&s));
    nd_coinbase_rest_destroy(rest);
    sim_stop(&s);
}

Test(coinbase_paging, the_adapter_sees_every_open_order_across_pages, .timeout = 60)
{
    make_keys();
    nd_clock_t *clock = nd_clock_os();
    sim_t s;
    sim_start(&s, clock, 3);
    char err[256] = "", path[96];
    snprintf(path, sizeof path, "/tmp/nd-cb-paging-%d.journal", (int)getpid());
    unlink(path);
    nd_journal_t *journal = NULL;
    cr_assert_eq(nd_journal_open(path, NULL, NULL, &journal, err, sizeof err), ND_OK, "%s", err);
    nd_recon_local_t *local = nd_calloc(1, sizeof *local);
    nd_coinbase_rest_t *rest = NULL;
    cr_assert_eq(nd_coinbase_rest_create(s.rest_url, KEY_NAME, priv_pem, clock, 5000, &rest, err,
                                         sizeof err), ND_OK, "%s", err);
    nd_coinbase_exec_config_t cfg = {.rest = rest, .journal = journal, .local = local,
                                     .clock = clock, .product_id = "BTC-USD",
                                     .assets = {.base = "BTC", .quote = "USD"}, .tag = "cbp",
                                     .run = 1, .poll_interval_ns = 20 * ND_NS_PER_MS};
    cr_assert_eq(nd_coinbase_public_product(s.rest_url, "BTC-USD", 5000, &cfg.rules, err,
                                            sizeof err), ND_OK, "%s", err);
    nd_coinbase_exec_t *x = NULL;
    cr_assert_eq(nd_coinbase_exec_create(&cfg, &x, err, sizeof err), ND_OK, "%s", err);
    nd_recon_policy_t policy;
    nd_recon_policy_default(&policy);
    size_t diffs = 0;
    bool halt = false;
    cr_assert_eq(nd_coinbase_exec_recover(x, &policy, true, NULL, 0, &diffs, &halt, err,
                                          sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_coinbase_exec_start(x), ND_OK);
    nd_exec_venue_t v = nd_coinbase_exec_venue(x);
    for (uint64_t id = 1; id <= 8; id++) { /* 8 resting buys: three pages of the venue's 3 */
        nd_order_intent_t in = {.side = ND_SIDE_BUY, .type = ND_ORDER_LIMIT, .px = 10000 * E8,
                                .qty = 100000};
        nd_order_t o;
        nd_order_init(&o, id, &in, 0, 0);
        cr_assert_eq(v.ops->submit(v.self, &o, 0), ND_OK);
    }
    nd_order_update_t got[64];
    size_t accepted = 0;
    for (int i = 0; i < 400 && (accepted < 8 || nd_coinbase_exec_venue_open(x) != 8); i++) {
        size_t count = 0;
        cr_assert_eq(v.ops->poll(v.self, 0, got, 64, &count), ND_OK);
        for (size_t k = 0; k < count; k++)
            accepted += got[k].kind == ND_UPDATE_ACCEPTED;
        for (size_t k = 0; k < count; k++)
            cr_assert_neq(got[k].kind, ND_UPDATE_REJECTED, "reason %d", (int)got[k].reason);
        usleep(5000);
    }
    cr_assert_eq(accepted, 8);
    cr_assert_eq(nd_coinbase_exec_venue_open(x), 8);
    nd_coinbase_exec_destroy(x);
    nd_coinbase_rest_destroy(rest);
    nd_journal_close(journal);
    nd_free(local);
    unlink(path);
    sim_stop(&s);
}
