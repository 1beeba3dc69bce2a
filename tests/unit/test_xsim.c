/* test_xsim.c: the exchange simulator: the matching engine (examples and a property test over
 * many seeds), the exchange's balances and order types, and the Binance REST layer's signature,
 * timestamp, weight and error handling, with the connector's own signer and filter parser. */
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/rand.h"
#include "noderr/xsim.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define PX(units) ((int64_t)(units) * 100000000) /* whole quote units at 8 decimals */
#define QTY(units) ((int64_t)(units) * 100000000)

typedef struct fills {
    nd_xsim_fill_t items[4096];
    size_t count;
} fills_t;

static void collect(void *ctx, const nd_xsim_fill_t *f)
{
    fills_t *fs = ctx;
    cr_assert_lt(fs->count, 4096);
    fs->items[fs->count++] = *f;
}

static nd_xsim_order_t order(int64_t id, uint32_t account, nd_side_t side, int64_t px, int64_t qty)
{
    return (nd_xsim_order_t){.id = id, .account = account, .side = side, .px = px, .qty = qty};
}

Test(xsim_book, price_then_time_priority_and_partial_fills)
{
    nd_xsim_book_t *b;
    cr_assert_eq(nd_xsim_book_create(&b), ND_OK);
    nd_xsim_order_t a1 = order(1, 1, ND_SIDE_SELL, PX(101), QTY(1));
    nd_xsim_order_t a2 = order(2, 0, ND_SIDE_SELL, PX(100), QTY(1));
    nd_xsim_order_t a3 = order(3, 1, ND_SIDE_SELL, PX(100), QTY(2));
    cr_assert_eq(nd_xsim_book_add(b, &a1), ND_OK);
    cr_assert_eq(nd_xsim_book_add(b, &a2), ND_OK);
    cr_assert_eq(nd_xsim_book_add(b, &a3), ND_OK);
    cr_assert_eq(nd_xsim_book_best(b, ND_SIDE_SELL), PX(100));
    nd_xsim_order_t crossing = order(9, 1, ND_SIDE_BUY, PX(100), QTY(1));
    cr_assert_eq(nd_xsim_book_add(b, &crossing), ND_EINVAL, "a crossing order cannot rest");
    fills_t fs = {0};
    int64_t filled = 0;
    nd_xsim_order_t taker = order(10, 1, ND_SIDE_BUY, PX(101), QTY(3) + QTY(1) / 2);
    nd_xsim_book_match(b, &taker, &filled, collect, &fs);
    cr_assert_eq(filled, taker.qty);
    cr_assert_eq(fs.count, 3);
    cr_assert_eq(fs.items[0].maker.id, 2); /* first at 100 */
    cr_assert_eq(fs.items[1].maker.id, 3);
    cr_assert_eq(fs.items[1].qty, QTY(2));
    cr_assert_eq(fs.items[2].maker.id, 1);
    cr_assert_eq(fs.items[2].px, PX(101));
    cr_assert_eq(fs.items[2].qty, QTY(1) / 2);
    cr_assert_eq(fs.items[2].maker.qty, QTY(1) / 2, "the maker keeps what is left");
    cr_assert_lt(fs.items[0].trade_id, fs.items[1].trade_id);
    cr_assert(nd_xsim_book_check(b));
    cr_assert_eq(nd_xsim_book_cancel(b, 1, NULL), ND_OK);
    cr_assert_eq(nd_xsim_book_cancel(b, 1, NULL), ND_ENOTFOUND);
    cr_assert_eq(nd_xsim_book_best(b, ND_SIDE_SELL), 0);
    nd_xsim_book_destroy(b);
}

Test(xsim_book, market_level_update_fills_user_makers_first)
{
    nd_xsim_book_t *b;
    cr_assert_eq(nd_xsim_book_create(&b), ND_OK);
    nd_xsim_order_t bid = order(1, 1, ND_SIDE_BUY, PX(100), QTY(2));
    cr_assert_eq(nd_xsim_book_add(b, &bid), ND_OK);
    fills_t fs = {0};
    /* the market's ask drops to 99: it trades with the user's bid, the rest rests */
    cr_assert_eq(nd_xsim_book_set_level(b, ND_SIDE_SELL, PX(99), QTY(3), collect, &fs), ND_OK);
    cr_assert_eq(fs.count, 1);
    cr_assert_eq(fs.items[0].maker.id, 1);
    cr_assert_eq(fs.items[0].px, PX(100));
    cr_assert_eq(nd_xsim_book_best(b, ND_SIDE_SELL), PX(99));
    cr_assert_eq(nd_xsim_book_at(b, ND_SIDE_SELL, 0)->qty, QTY(1));
    cr_assert_eq(nd_xsim_book_set_level(b, ND_SIDE_SELL, PX(99), 0, collect, &fs), ND_OK);
    cr_assert_eq(nd_xsim_book_count(b, ND_SIDE_SELL), 0);
    nd_xsim_book_destroy(b);
}

/* ---- Property test ------------------------------------------------------------------------- */

#define PROP_IDS 1200

typedef struct model {
    int64_t total[PROP_IDS];   /* quantity each user order came with */
    int64_t gone[PROP_IDS];    /* filled (as maker or taker), cancelled or expired */
    fills_t fs;
} model_t;

/* Checks the fills of one match: within the limit, best price first, FIFO at a price, no
 * maker overfilled; books them in the model. */
static void check_fills(model_t *m, const nd_xsim_order_t *taker, int64_t filled)
{
    int64_t sum = 0;
    for (size_t i = 0; i < m->fs.count; i++) {
        const nd_xsim_fill_t *f = &m->fs.items[i];
        cr_assert_gt(f->qty, 0);
        cr_assert_neq(f->maker.side, taker->side);
        if (taker->px)
            cr_assert(taker->side == ND_SIDE_BUY ? f->px <= taker->px : f->px >= taker->px);
        if (i > 0) {
            const nd_xsim_fill_t *p = &m->fs.items[i - 1];
            cr_assert(taker->side == ND_SIDE_BUY ? p->px <= f->px : p->px >= f->px);
            if (p->px == f->px)
                cr_assert_lt(p->maker.seq, f->maker.seq, "FIFO at a price");
        }
        if (f->maker.id < PROP_IDS) {
            m->gone[f->maker.id] += f->qty;
            cr_assert_leq(m->gone[f->maker.id], m->total[f->maker.id], "maker overfilled");
        }
        sum += f->qty;
    }
    if (taker->account == ND_XSIM_ACCOUNT_USER)
        cr_assert_eq(sum, filled, "fills add up to what matched");
    cr_assert_leq(filled, taker->qty, "taker overfilled");
    m->fs.count = 0;
}

static nd_xsim_order_t random_order(nd_rand_t *rng, int64_t id)
{
    nd_side_t side = nd_rand_below(rng, 2) ? ND_SIDE_BUY : ND_SIDE_SELL;
    int64_t px = PX(100) + ((int64_t)nd_rand_below(rng, 21) - 10) * 1000000; /* ticks of 0.01 */
    return order(id, ND_XSIM_ACCOUNT_USER, side, px, (int64_t)(1 + nd_rand_below(rng, 10)) * 1000);
}

static void prop_step(nd_xsim_book_t *b, nd_rand_t *rng, model_t *m, int64_t *next_id)
{
    uint64_t op = nd_rand_below(rng, 100);
    if (op < 50 && *next_id < PROP_IDS) {
        nd_xsim_order_t o = random_order(rng, (*next_id)++);
        bool ioc = op >= 35;
        m->total[o.id] = o.qty;
        int64_t filled = 0;
        nd_xsim_book_match(b, &o, &filled, collect, &m->fs);
        m->gone[o.id] += filled;
        check_fills(m, &o, filled);
        nd_xsim_order_t rest = o;
        rest.qty -= filled;
        if (rest.qty > 0 && !ioc)
            cr_assert_eq(nd_xsim_book_add(b, &rest), ND_OK);
        else
            m->gone[o.id] += rest.qty;
    } else if (op < 80) {
        nd_xsim_order_t o = random_order(rng, 0);
        int64_t qty = nd_rand_below(rng, 4) == 0 ? 0 : o.qty;
        nd_xsim_order_t as_taker = order(0, ND_XSIM_ACCOUNT_MARKET, o.side, o.px, qty);
        cr_assert_eq(nd_xsim_book_set_level(b, o.side, o.px, qty, collect, &m->fs), ND_OK);
        check_fills(m, &as_taker, 0);
    } else if (*next_id > 1) {
        int64_t id = 1 + (int64_t)nd_rand_below(rng, (uint64_t)(*next_id - 1));
        nd_xsim_order_t gone;
        if (nd_xsim_book_cancel(b, id, &gone) == ND_OK)
            m->gone[id] += gone.qty;
    }
    cr_assert(nd_xsim_book_check(b), "book invariants");
}

Test(xsim_book, property_many_seeds)
{
    static model_t m;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        memset(&m, 0, sizeof m);
        nd_rand_t rng;
        nd_rand_init(&rng, seed);
        nd_xsim_book_t *b;
        cr_assert_eq(nd_xsim_book_create(&b), ND_OK);
        int64_t next_id = 1;
        for (int step = 0; step < 2000; step++)
            prop_step(b, &rng, &m, &next_id);
        int64_t resting[PROP_IDS] = {0};
        for (int k = 0; k < 2; k++) {
            nd_side_t side = k ? ND_SIDE_SELL : ND_SIDE_BUY;
            for (size_t i = 0; i < nd_xsim_book_count(b, side); i++) {
                const nd_xsim_order_t *o = nd_xsim_book_at(b, side, i);
                if (o->account == ND_XSIM_ACCOUNT_USER)
                    resting[o->id] += o->qty;
            }
        }
        for (int64_t id = 1; id < next_id; id++)
            cr_assert_eq(m.gone[id] + resting[id], m.total[id],
                         "seed %llu order %lld: quantity not conserved", (unsigned long long)seed,
                         (long long)id);
        nd_xsim_book_destroy(b);
    }
}

/* ---- Exchange ------------------------------------------------------------------------------ */

#define T0 ((int64_t)1700000000 * ND_NS_PER_SEC)

static nd_xsim_t *open_exchange(void)
{
    nd_xsim_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(nd_instrument_init(&cfg.inst, "BTCUSDT", "xsim"), ND_OK);
    cfg.quote_balance = PX(100000);
    cfg.base_balance = QTY(1);
    cfg.fee_bps = 10;
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.step_ns = 100 * ND_NS_PER_MS;
    char err[256] = "";
    nd_xsim_t *x = NULL;
    cr_assert_eq(nd_xsim_create(&cfg, T0, &x, err, sizeof err), ND_OK, "%s", err);
    return x;
}

static void totals(const nd_xsim_t *x, int64_t *base, int64_t *quote)
{
    int64_t bf, bl, qf, ql;
    nd_xsim_balances(x, &bf, &bl, &qf, &ql);
    cr_assert_geq(bf, 0);
    cr_assert_geq(bl, 0);
    cr_assert_geq(qf, 0);
    cr_assert_geq(ql, 0);
    *base = bf + bl;
    *quote = qf + ql;
}

Test(xsim_exchange, resting_limit_locks_and_cancel_unlocks)
{
    nd_xsim_t *x = open_exchange();
    int64_t bid = nd_xsim_book_best(nd_xsim_book(x), ND_SIDE_BUY);
    cr_assert_gt(bid, 0, "the synthetic market has a book");
    nd_xsim_new_order_t r = {.side = ND_SIDE_BUY, .type = ND_XSIM_LIMIT, .tif = ND_XSIM_GTC,
                             .px = bid - PX(100), .qty = QTY(1) / 100};
    int64_t id = 0;
    cr_assert_eq(nd_xsim_place(x, &r, T0, &id), ND_XSIM_OK);
    int64_t bf, bl, qf, ql;
    nd_xsim_balances(x, &bf, &bl, &qf, &ql);
    cr_assert_eq(ql, (r.px / 100), "1/100 BTC at px locks px/100 quote");
    cr_assert_eq(qf + ql, PX(100000));
    cr_assert_eq(nd_xsim_order(x, id)->status, ND_XSIM_NEW);
    cr_assert_eq(nd_xsim_cancel(x, id, T0), ND_OK);
    cr_assert_eq(nd_xsim_cancel(x, id, T0), ND_ENOTFOUND);
    nd_xsim_balances(x, &bf, &bl, &qf, &ql);
    cr_assert_eq(ql, 0);
    cr_assert_eq(qf, PX(100000));
    nd_xsim_destroy(x);
}

Test(xsim_exchange, market_buy_moves_balances_with_commission)
{
    nd_xsim_t *x = open_exchange();
    nd_xsim_new_order_t r = {.side = ND_SIDE_BUY, .type = ND_XSIM_MARKET, .qty = QTY(1) / 10};
    int64_t id = 0;
    cr_assert_eq(nd_xsim_place(x, &r, T0, &id), ND_XSIM_OK);
    const nd_xsim_user_order_t *o = nd_xsim_order(x, id);
    cr_assert_eq(o->status, ND_XSIM_FILLED);
    int64_t quote_spent = 0, base_got = 0;
    for (size_t i = 0; i < nd_xsim_trade_count(x); i++) {
        const nd_xsim_trade_t *t = nd_xsim_trade_at(x, i);
        cr_assert(t->is_buyer && !t->is_maker && t->commission_in_base);
        cr_assert_eq(t->commission, (t->qty * 10 + 9999) / 10000);
        quote_spent += t->quote_qty;
        base_got += t->qty - t->commission;
    }
    cr_assert_eq(o->cum_quote, quote_spent);
    int64_t bf, bl, qf, ql;
    nd_xsim_balances(x, &bf, &bl, &qf, &ql);
    cr_assert_eq(qf, PX(100000) - quote_spent);
    cr_assert_eq(bf, QTY(1) + base_got);
    cr_assert_eq(ql + bl, 0);
    nd_xsim_destroy(x);
}

Test(xsim_exchange, order_types_and_rejects)
{
    nd_xsim_t *x = open_exchange();
    int64_t ask = nd_xsim_book_best(nd_xsim_book(x), ND_SIDE_SELL), id = 0;
    nd_xsim_new_order_t maker = {.side = ND_SIDE_BUY, .type = ND_XSIM_LIMIT_MAKER, .px = ask,
                                 .qty = QTY(1) / 100};
    cr_assert_eq(nd_xsim_place(x, &maker, T0, &id), ND_XSIM_REJ_WOULD_TAKE);
    nd_xsim_new_order_t fok = {.side = ND_SIDE_BUY, .type = ND_XSIM_LIMIT, .tif = ND_XSIM_FOK,
                               .px = ask, .qty = QTY(2)};
    cr_assert_eq(nd_xsim_place(x, &fok, T0, &id), ND_XSIM_OK);
    cr_assert_eq(nd_xsim_order(x, id)->status, ND_XSIM_EXPIRED);
    cr_assert_eq(nd_xsim_order(x, id)->executed_qty, 0, "FOK fills all or nothing");
    nd_xsim_new_order_t tick = {.side = ND_SIDE_BUY, .type = ND_XSIM_LIMIT, .px = ask - 1,
                                .qty = QTY(1) / 100};
    cr_assert_eq(nd_xsim_place(x, &tick, T0, &id), ND_XSIM_REJ_PRICE_FILTER);
    nd_xsim_new_order_t tiny = {.side = ND_SIDE_BUY, .type = ND_XSIM_LIMIT, .px = ask,
                                .qty = 1000};
    cr_assert_eq(nd_xsim_place(x, &tiny, T0, &id), ND_XSIM_REJ_NOTIONAL);
    nd_xsim_new_order_t big = {.side = ND_SIDE_SELL, .type = ND_XSIM_LIMIT, .px = ask,
                               .qty = QTY(2)};
    cr_assert_eq(nd_xsim_place(x, &big, T0, &id), ND_XSIM_REJ_BALANCE);
    nd_xsim_destroy(x);
}

Test(xsim_exchange, balances_conserved_while_the_market_moves)
{
    nd_xsim_t *x = open_exchange();
    nd_rand_t rng;
    nd_rand_init(&rng, 7);
    int64_t now = T0;
    for (int i = 0; i < 400; i++) {
        now += 250 * ND_NS_PER_MS;
        nd_xsim_advance(x, now);
        int64_t mid = nd_xsim_book_best(nd_xsim_book(x), ND_SIDE_BUY);
        nd_xsim_new_order_t r = {.side = nd_rand_below(&rng, 2) ? ND_SIDE_BUY : ND_SIDE_SELL,
                                 .type = ND_XSIM_LIMIT, .tif = ND_XSIM_GTC,
                                 .px = mid + ((int64_t)nd_rand_below(&rng, 41) - 20) * 1000000,
                                 .qty = (int64_t)(1 + nd_rand_below(&rng, 20)) * 100000};
        int64_t id = 0;
        (void)nd_xsim_place(x, &r, now, &id);
        int64_t base, quote;
        totals(x, &base, &quote);
        cr_assert(nd_xsim_book_check(nd_xsim_book(x)));
    }
    int64_t base = 0, quote = 0, base_in = 0, quote_out = 0;
    for (size_t i = 0; i < nd_xsim_trade_count(x); i++) {
        const nd_xsim_trade_t *t = nd_xsim_trade_at(x, i);
        base_in += t->is_buyer ? t->qty - t->commission : -t->qty;
        quote_out += t->is_buyer ? t->quote_qty : -(t->quote_qty - t->commission);
    }
    totals(x, &base, &quote);
    cr_assert_gt(nd_xsim_trade_count(x), 0);
    cr_assert_eq(base, QTY(1) + base_in);
    cr_assert_eq(quote, PX(100000) - quote_out);
    nd_xsim_destroy(x);
}

/* ---- Binance REST -------------------------------------------------------------------------- */

static const char KEY[] = "test-key", SECRET[] = "test-secret";

typedef struct answer {
    int status;
    char body[65536];
    int64_t weight, retry_after;
} answer_t;

static answer_t *call(nd_xsim_api_t *api, const char *method, const char *path, const char *query,
                      bool sign, const char *key, int64_t now_ns)
{
    static answer_t a;
    char q[2048];
    snprintf(q, sizeof q, "%s", query);
    if (sign) {
        char hex[65];
        cr_assert_eq(nd_binance_sign(SECRET, strlen(SECRET), query, strlen(query), NULL, 0, hex),
                     ND_OK);
        snprintf(q, sizeof q, "%s&signature=%s", query, hex);
    }
    nd_xsim_request_t req = {.method = method, .path = path, .query = q, .query_len = strlen(q),
                             .body = "", .body_len = 0, .api_key = key};
    nd_xsim_response_t resp;
    cr_assert_eq(nd_xsim_api_handle(api, &req, now_ns, &resp), ND_OK);
    a.status = resp.status;
    snprintf(a.body, sizeof a.body, "%s", resp.body);
    a.weight = resp.used_weight;
    a.retry_after = resp.retry_after_s;
    nd_free(resp.body);
    return &a;
}

static nd_xsim_api_t *open_api(nd_xsim_t *x, int64_t weight_limit)
{
    nd_xsim_api_config_t cfg = {.api_key = KEY, .api_secret = SECRET,
                                .weight_limit = weight_limit, .bans_after = 2};
    nd_xsim_api_t *api = NULL;
    cr_assert_eq(nd_xsim_api_create(x, &cfg, &api), ND_OK);
    return api;
}

Test(xsim_api, exchange_info_parses_with_the_connector)
{
    nd_xsim_t *x = open_exchange();
    nd_xsim_api_t *api = open_api(x, 6000);
    answer_t *a = call(api, "GET", "/api/v3/exchangeInfo", "", false, NULL, T0);
    cr_assert_eq(a->status, 200);
    nd_binance_filters_t f;
    char err[256] = "";
    cr_assert_eq(nd_binance_filters_parse(a->body, strlen(a->body), "BTCUSDT", &f, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert(f.trading);
    cr_assert_eq(f.tick_size, 1000000);
    cr_assert_eq(f.step_size, 1000);
    cr_assert_eq(f.min_notional, PX(5));
    cr_assert_eq(a->weight, 20);
    a = call(api, "GET", "/api/v3/time", "", false, NULL, T0);
    cr_assert_str_eq(a->body, "{\"serverTime\":1700000000000}");
    cr_assert_eq(a->weight, 21);
    nd_xsim_api_destroy(api);
    nd_xsim_destroy(x);
}

Test(xsim_api, signed_requests)
{
    nd_xsim_t *x = open_exchange();
    nd_xsim_api_t *api = open_api(x, 6000);
    int64_t ms = T0 / ND_NS_PER_MS;
    char q[256];
    snprintf(q, sizeof q, "timestamp=%lld", (long long)ms);
    answer_t *a = call(api, "GET", "/api/v3/account", q, true, KEY, T0);
    cr_assert_eq(a->status, 200, "%s", a->body);
    cr_assert(strstr(a->body, "\"asset\":\"USDT\",\"free\":\"100000\",\"locked\":\"0\""), "%s",
              a->body);
    a = call(api, "GET", "/api/v3/account", q, true, NULL, T0);
    cr_assert_eq(a->status, 401);
    cr_assert(strstr(a->body, "-2014"));
    a = call(api, "GET", "/api/v3/account", q, true, "other", T0);
    cr_assert(strstr(a->body, "-2015"));
    a = call(api, "GET", "/api/v3/account", "timestamp=1&signature=00", false, KEY, T0);
    cr_assert_eq(a->status, 400);
    cr_assert(strstr(a->body, "-1022"), "%s", a->body);
    a = call(api, "GET", "/api/v3/account", q, true, KEY, T0 + 6 * ND_NS_PER_SEC);
    cr_assert(strstr(a->body, "-1021"), "%s", a->body);
    snprintf(q, sizeof q, "timestamp=%lld&recvWindow=10000", (long long)ms);
    a = call(api, "GET", "/api/v3/account", q, true, KEY, T0 + 6 * ND_NS_PER_SEC);
    cr_assert_eq(a->status, 200, "a wider recvWindow accepts it: %s", a->body);
    snprintf(q, sizeof q, "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.01&price=1000"
                          "&timestamp=%lld", (long long)ms);
    a = call(api, "POST", "/api/v3/order", q, true, KEY, T0);
    cr_assert(strstr(a->body, "-1102") && strstr(a->body, "timeInForce"), "%s", a->body);
    snprintf(q, sizeof q, "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01"
                          "&price=1000&newClientOrderId=c1&timestamp=%lld", (long long)ms);
    a = call(api, "POST", "/api/v3/order", q, true, KEY, T0);
    cr_assert_eq(a->status, 200, "%s", a->body);
    cr_assert(strstr(a->body, "\"status\":\"NEW\"") && strstr(a->body, "\"clientOrderId\":\"c1\""));
    snprintf(q, sizeof q, "symbol=BTCUSDT&origClientOrderId=c1&timestamp=%lld", (long long)ms);
    a = call(api, "DELETE", "/api/v3/order", q, true, KEY, T0);
    cr_assert(strstr(a->body, "\"status\":\"CANCELED\""), "%s", a->body);
    a = call(api, "DELETE", "/api/v3/order", q, true, KEY, T0);
    cr_assert(strstr(a->body, "-2011"), "%s", a->body);
    nd_xsim_api_destroy(api);
    nd_xsim_destroy(x);
}

Test(xsim_api, weight_limit_429_then_418)
{
    nd_xsim_t *x = open_exchange();
    nd_xsim_api_t *api = open_api(x, 3);
    int64_t now = T0 + 10 * ND_NS_PER_SEC; /* 50 s before the minute ends at T0 + 60 s - 20 s */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(call(api, "GET", "/api/v3/ping", "", false, NULL, now)->status, 200);
    answer_t *a = call(api, "GET", "/api/v3/ping", "", false, NULL, now);
    cr_assert_eq(a->status, 429);
    cr_assert(strstr(a->body, "-1003"));
    cr_assert_gt(a->retry_after, 0);
    cr_assert_leq(a->retry_after, 60);
    cr_assert_eq(call(api, "GET", "/api/v3/ping", "", false, NULL, now)->status, 429);
    a = call(api, "GET", "/api/v3/ping", "", false, NULL, now);
    cr_assert_eq(a->status, 418, "a third 429 in the minute bans (bans_after 2)");
    cr_assert_eq(a->retry_after, 120);
    cr_assert_eq(call(api, "GET", "/api/v3/ping", "", false, NULL,
                      now + 119 * ND_NS_PER_SEC)->status, 418);
    cr_assert_eq(call(api, "GET", "/api/v3/ping", "", false, NULL,
                      now + 121 * ND_NS_PER_SEC)->status, 200);
    nd_xsim_api_destroy(api);
    nd_xsim_destroy(x);
}

Test(xsim_exchange, quote_order_qty_and_ioc)
{
    nd_xsim_t *x = open_exchange();
    int64_t id = 0;
    nd_xsim_new_order_t q = {.side = ND_SIDE_BUY, .type = ND_XSIM_MARKET, .quote_qty = PX(50)};
    cr_assert_eq(nd_xsim_place(x, &q, T0, &id), ND_XSIM_OK);
    const nd_xsim_user_order_t *o = nd_xsim_order(x, id);
    cr_assert_eq(o->status, ND_XSIM_FILLED);
    cr_assert_leq(o->cum_quote, PX(50), "spends at most the quote amount");
    cr_assert_gt(o->cum_quote, PX(49), "and nearly all of it (less than a lot short)");
    cr_assert_eq(o->orig_qty % 1000, 0, "a whole number of lots");
    /* IOC through the best ask for more than the whole book side at that price: partial, expired */
    int64_t ask = nd_xsim_book_best(nd_xsim_book(x), ND_SIDE_SELL);
    nd_xsim_new_order_t ioc = {.side = ND_SIDE_BUY, .type = ND_XSIM_LIMIT, .tif = ND_XSIM_IOC,
                               .px = ask, .qty = QTY(1)};
    cr_assert_eq(nd_xsim_place(x, &ioc, T0, &id), ND_XSIM_OK);
    o = nd_xsim_order(x, id);
    cr_assert_eq(o->status, ND_XSIM_EXPIRED);
    cr_assert_gt(o->executed_qty, 0);
    cr_assert_lt(o->executed_qty, QTY(1));
    cr_assert_eq(nd_xsim_book_find(nd_xsim_book(x), id), NULL, "IOC never rests");
    int64_t bf, bl, qf, ql;
    nd_xsim_balances(x, &bf, &bl, &qf, &ql);
    cr_assert_eq(ql, 0, "nothing stays locked");
    nd_xsim_destroy(x);
}

Test(xsim_exchange, user_order_ahead_in_the_queue_fills_first)
{
    nd_xsim_t *x = open_exchange();
    /* rest a sell at a price above the market's asks, then let market trades happen there */
    int64_t ask = nd_xsim_book_best(nd_xsim_book(x), ND_SIDE_SELL), id = 0;
    nd_xsim_new_order_t r = {.side = ND_SIDE_SELL, .type = ND_XSIM_LIMIT_MAKER, .px = ask,
                             .qty = QTY(1) / 1000};
    cr_assert_eq(nd_xsim_place(x, &r, T0, &id), ND_XSIM_OK);
    const nd_xsim_order_t *rest = nd_xsim_book_find(nd_xsim_book(x), id);
    cr_assert_not_null(rest);
    /* behind the market's liquidity at that price: a market taker fills the market first */
    nd_xsim_book_t *book = (nd_xsim_book_t *)nd_xsim_book(x);
    fills_t fs = {0};
    nd_xsim_order_t taker = order(0, ND_XSIM_ACCOUNT_USER, ND_SIDE_BUY, ask, 1000);
    int64_t filled = 0;
    nd_xsim_book_match(book, &taker, &filled, collect, &fs);
    cr_assert_eq(fs.count, 1);
    cr_assert_eq(fs.items[0].maker.account, ND_XSIM_ACCOUNT_MARKET, "the market was there first");
    nd_xsim_destroy(x);
}

/* Binance's documented HMAC example (PROTOCOLS.md A.5): the signature is accepted (the answer is
 * the symbol's -1121, after authentication, not -1022). */
Test(xsim_api, binance_documented_signature_accepted)
{
    nd_xsim_t *x = open_exchange();
    nd_xsim_api_config_t cfg = {
        .api_key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        .api_secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"};
    nd_xsim_api_t *api = NULL;
    cr_assert_eq(nd_xsim_api_create(x, &cfg, &api), ND_OK);
    static const char q[] =
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
        "&timestamp=1499827319559&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2"
        "838bd6b71";
    nd_xsim_request_t req = {.method = "POST", .path = "/api/v3/order", .query = q,
                             .query_len = strlen(q), .body = "", .api_key = cfg.api_key};
    nd_xsim_response_t resp;
    int64_t server_ns = (int64_t)1499827319559 * ND_NS_PER_MS + 200 * ND_NS_PER_MS;
    cr_assert_eq(nd_xsim_api_handle(api, &req, server_ns, &resp), ND_OK);
    cr_assert(strstr(resp.body, "-1121"), "%s", resp.body);
    nd_free(resp.body);
    /* the same split into query string and body, signature at the end of the body */
    static const char query[] = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC";
    char body[256], hex[65];
    static const char body_part[] = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    cr_assert_eq(nd_binance_sign(cfg.api_secret, strlen(cfg.api_secret), query, strlen(query),
                                 body_part, strlen(body_part), hex), ND_OK);
    snprintf(body, sizeof body, "%s&signature=%s", body_part, hex);
    req.query = query;
    req.query_len = strlen(query);
    req.body = body;
    req.body_len = strlen(body);
    cr_assert_eq(nd_xsim_api_handle(api, &req, server_ns, &resp), ND_OK);
    cr_assert(strstr(resp.body, "-1121"), "%s", resp.body);
    nd_free(resp.body);
    /* 5 seconds and 200 ms after the timestamp: outside the 5000 ms window */
    req.query = q;
    req.query_len = strlen(q);
    req.body = "";
    req.body_len = 0;
    cr_assert_eq(nd_xsim_api_handle(api, &req, server_ns + 5 * ND_NS_PER_SEC, &resp), ND_OK);
    cr_assert(strstr(resp.body, "-1021"), "%s", resp.body);
    nd_free(resp.body);
    nd_xsim_api_destroy(api);
    nd_xsim_destroy(x);
}

Test(xsim_api, microsecond_timestamp_and_decimal_recv_window)
{
    nd_xsim_t *x = open_exchange();
    nd_xsim_api_t *api = open_api(x, 6000);
    char q[128];
    snprintf(q, sizeof q, "timestamp=%lld", (long long)(T0 / ND_NS_PER_US - 4000000));
    answer_t *a = call(api, "GET", "/api/v3/account", q, true, KEY, T0);
    cr_assert_eq(a->status, 200, "4 s old in us, default window 5 s: %s", a->body);
    snprintf(q, sizeof q, "timestamp=%lld&recvWindow=3999.999", (long long)(T0 / ND_NS_PER_MS - 4000));
    a = call(api, "GET", "/api/v3/account", q, true, KEY, T0);
    cr_assert(strstr(a->body, "-1021"), "%s", a->body);
    snprintf(q, sizeof q, "timestamp=%lld&recvWindow=60001", (long long)(T0 / ND_NS_PER_MS));
    a = call(api, "GET", "/api/v3/account", q, true, KEY, T0);
    cr_assert(strstr(a->body, "-1131"), "%s", a->body);
    nd_xsim_api_destroy(api);
    nd_xsim_destroy(x);
}

/* ---- Market-event faults (the chaos suite's) ---------------------------------------------- */

typedef struct seen_trades {
    int64_t count, last_px, max_px;
} seen_trades_t;

static void on_public_trade(void *ctx, const nd_xsim_public_trade_t *t)
{
    seen_trades_t *s = ctx;
    s->count++;
    s->last_px = t->px;
    s->max_px = t->px > s->max_px ? t->px : s->max_px;
}

static int64_t mid_of(const nd_xsim_t *x)
{
    const nd_xsim_book_t *b = nd_xsim_book(x);
    return (nd_xsim_book_best(b, ND_SIDE_BUY) + nd_xsim_book_best(b, ND_SIDE_SELL)) / 2;
}

Test(xsim_faults, spike_prints_one_trade_off_the_mid_and_leaves_the_book)
{
    nd_xsim_t *x = open_exchange();
    nd_xsim_advance(x, T0 + 5 * ND_NS_PER_SEC);
    seen_trades_t seen = {0};
    nd_xsim_listener_t l = {.trade_cb = on_public_trade, .ctx = &seen};
    nd_xsim_set_listener(x, &l);
    int64_t mid = mid_of(x), update = nd_xsim_update_id(x);
    nd_xsim_fault_spike(x, 20);
    cr_assert_eq(seen.count, 1);
    cr_assert(seen.last_px >= mid * 12 / 10 - PX(1) && seen.last_px <= mid * 12 / 10,
              "spike at %lld, mid %lld", (long long)seen.last_px, (long long)mid);
    cr_assert_eq(mid_of(x), mid);
    cr_assert_eq(nd_xsim_update_id(x), update);
    nd_xsim_destroy(x);
}

Test(xsim_faults, crash_path_falls_30_percent_then_recovers_half)
{
    nd_xsim_t *x = open_exchange();
    int64_t t = T0 + 5 * ND_NS_PER_SEC;
    nd_xsim_advance(x, t);
    int64_t before = mid_of(x);
    nd_xsim_fault_crash(x, -30, 10000, t);
    nd_xsim_advance(x, t + 10 * ND_NS_PER_SEC); /* the bottom */
    int64_t bottom = mid_of(x);
    cr_assert(bottom < before * 78 / 100 && bottom > before * 62 / 100, "%lld -> %lld",
              (long long)before, (long long)bottom);
    nd_xsim_advance(x, t + 25 * ND_NS_PER_SEC); /* recovered half, held */
    int64_t after = mid_of(x);
    cr_assert(after > before * 80 / 100 && after < before * 92 / 100, "%lld -> %lld",
              (long long)before, (long long)after);
    cr_assert(nd_xsim_book_check(nd_xsim_book(x)));
    nd_xsim_destroy(x);
}

Test(xsim_faults, thin_book_has_wider_spread_and_less_depth_then_returns)
{
    nd_xsim_t *x = open_exchange();
    int64_t t = T0 + 5 * ND_NS_PER_SEC;
    nd_xsim_advance(x, t);
    const nd_xsim_book_t *b = nd_xsim_book(x);
    int64_t spread = nd_xsim_book_best(b, ND_SIDE_SELL) - nd_xsim_book_best(b, ND_SIDE_BUY);
    int64_t depth = nd_xsim_book_at(b, ND_SIDE_BUY, 0)->qty;
    nd_xsim_fault_thin(x, 3, 20);
    nd_xsim_advance(x, t + 5 * ND_NS_PER_SEC);
    int64_t wide = nd_xsim_book_best(b, ND_SIDE_SELL) - nd_xsim_book_best(b, ND_SIDE_BUY);
    cr_assert(wide >= spread * 10, "spread %lld -> %lld", (long long)spread, (long long)wide);
    cr_assert(nd_xsim_book_at(b, ND_SIDE_BUY, 0)->qty < depth / 5, "depth %lld -> %lld",
              (long long)depth, (long long)nd_xsim_book_at(b, ND_SIDE_BUY, 0)->qty);
    nd_xsim_fault_thin(x, 100, 1);
    nd_xsim_advance(x, t + 10 * ND_NS_PER_SEC);
    int64_t back = nd_xsim_book_best(b, ND_SIDE_SELL) - nd_xsim_book_best(b, ND_SIDE_BUY);
    cr_assert(back < wide, "spread %lld after the crisis", (long long)back);
    cr_assert(nd_xsim_book_check(b));
    nd_xsim_destroy(x);
}
